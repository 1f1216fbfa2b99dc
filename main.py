"""Start the EVP Studio editor: ``python main.py [PROJECT_OR_MEDIA ...]``."""

import sys

from ui.app import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
