"""The media layer: probing, frame-accurate decoding, audio loading, export (PyAV only).

Public API::

    probe(path) -> MediaInfo
    VideoReader(path, *, cache_bytes=256 * 2**20)
    load_audio(path, *, sample_rate=16000, stream_index=None, start_s=0.0, duration_s=None)
    build_envelope(path, ...) -> Job[WaveformEnvelope]; compute_envelope(path, ...)
    VideoWriter(path, *, width, height, frame_rate, config=ExportConfig(), audio=None,
                audio_rate=None)
    iter_thumbnails(path, *, every_n=None, count=None, height=64, cancel=None)
    read_thumbnail(reader, index, *, height) -> (height, W, 3) uint8
    write_audio(path, samples, rate, *, bit_rate=128_000) -> Path
"""

from evp_studio.media.audio import load_audio
from evp_studio.media.audio_writer import write_audio
from evp_studio.media.probe import AudioStreamInfo, MediaInfo, VideoStreamInfo, probe
from evp_studio.media.thumbnails import iter_thumbnails, read_thumbnail
from evp_studio.media.video import VideoReader
from evp_studio.media.waveform import WaveformEnvelope, build_envelope, compute_envelope
from evp_studio.media.writer import ExportConfig, VideoWriter

__all__ = [
    "AudioStreamInfo",
    "ExportConfig",
    "MediaInfo",
    "VideoReader",
    "VideoStreamInfo",
    "VideoWriter",
    "WaveformEnvelope",
    "build_envelope",
    "compute_envelope",
    "iter_thumbnails",
    "load_audio",
    "probe",
    "read_thumbnail",
    "write_audio",
]
