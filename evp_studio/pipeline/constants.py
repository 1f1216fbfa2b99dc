"""Rates and sizes the whole pipeline agrees on (the official EVP code's values).

Audio is 16 kHz mono; the models run at 25 video frames per second; MFCC frames come every
10 ms, so four MFCC frames belong to one video frame. Derived values are computed here, never
retyped elsewhere, so that one change cannot leave two modules disagreeing.
"""

from __future__ import annotations

from typing import Final

SAMPLE_RATE: Final = 16000  # Hz, audio fed to the feature front end
FPS: Final = 25  # video frames per second inside the pipeline (the models' rate)

# MFCC framing (python_speech_features with winlen 0.025 s, winstep 0.01 s)
MFCC_WIN_LENGTH: Final = 400  # samples per analysis frame (25 ms at 16 kHz)
HOP_LENGTH: Final = 160  # samples between MFCC frames (10 ms at 16 kHz)
MFCC_RATE: Final = SAMPLE_RATE // HOP_LENGTH  # MFCC frames per second (100)
N_MFCC: Final = 13  # cepstra computed per frame (c0 is log frame energy)
N_COEFFS: Final = 12  # coefficients the models see: c1..c12 (c0 dropped)

SAMPLES_PER_FRAME: Final = SAMPLE_RATE // FPS  # audio samples per video frame (640)
MFCC_PER_FRAME: Final = MFCC_RATE // FPS  # MFCC frames per video frame (4)

# One model input: 7 video frames of MFCC centred on the current one
CONTEXT_FRAMES: Final = 3  # video frames of context on each side of the current frame
WINDOW_FRAMES: Final = MFCC_PER_FRAME * (2 * CONTEXT_FRAMES + 1)  # MFCC frames per window (28)
WINDOW_STRIDE: Final = MFCC_PER_FRAME  # MFCC frames between consecutive windows (4)

# Zero padding put before and after the audio so the first/last frames have context
PAD_SAMPLES: Final = CONTEXT_FRAMES * SAMPLES_PER_FRAME  # samples per side (1920 = 0.12 s)
PAD_MFCC_FRAMES: Final = PAD_SAMPLES // HOP_LENGTH  # MFCC frames per side (12)

assert SAMPLE_RATE % FPS == 0 and SAMPLE_RATE % HOP_LENGTH == 0 and MFCC_RATE % FPS == 0
assert (WINDOW_FRAMES, PAD_SAMPLES, SAMPLES_PER_FRAME, MFCC_PER_FRAME) == (28, 1920, 640, 4)
