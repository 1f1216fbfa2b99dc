"""The audio front end: MFCC exactly as the official EVP code, 28x12 windows, DTW pairs.

Public API (``mfcc`` and ``dtw`` are also module names, so they are not re-exported here:
import them as ``from evp_studio.audio.mfcc import mfcc``, ``from evp_studio.audio.dtw import
dtw``; re-exporting would make ``evp_studio.audio.mfcc`` the function, not the module)::

    mfcc.mfcc(signal, sample_rate=16000) -> (T, 13) float32  # python_speech_features.mfcc
    padded_mfcc(audio_16k) -> (T_mfcc, 13) float32          # 1920 zeros each side
    evp_features(audio_16k) -> (T_mfcc, 12) float32         # c0 dropped, not normalised
    frame_windows(features) -> (N, 28, D) view              # window k = rows 4k..4k+27
    audio_windows(audio_16k) -> (N, 28, 12) float32
    n_frames_for(n_samples) -> N = max(0, (n_samples - 81) // 640)
    extract_features(path_or_audio) -> AudioFeatures
    dtw.dtw(x, y) -> DtwResult; align_to_reference(ref, other) -> (T_r,) int64
    aligned_windows(ref_13, other_13) -> ((N, 28, 12), (N, 28, 12))
    emotion_pair_windows({emotion: path_or_audio}, reference="angry") -> {emotion: windows}
"""

from evp_studio.audio.dtw import (
    DtwResult,
    align_to_reference,
    aligned_windows,
    emotion_pair_windows,
)
from evp_studio.audio.mfcc import evp_features, mel_filterbank, padded_mfcc
from evp_studio.audio.windows import (
    MIN_SAMPLES,
    AudioFeatures,
    audio_windows,
    extract_features,
    frame_windows,
    n_frames_for,
    n_windows_for,
)

__all__ = [
    "MIN_SAMPLES",
    "AudioFeatures",
    "DtwResult",
    "align_to_reference",
    "aligned_windows",
    "audio_windows",
    "emotion_pair_windows",
    "evp_features",
    "extract_features",
    "frame_windows",
    "mel_filterbank",
    "n_frames_for",
    "n_windows_for",
    "padded_mfcc",
]
