"""EVP Studio core: emotional video portraits from a talking-head video and a speech track.

This package never imports Qt; the editor in ``ui/`` sits on top of it.
"""

__version__ = "0.1.0"
