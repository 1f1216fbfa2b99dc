"""Entry point of the frozen bundle: the editor, or the headless CLI as ``evp-studio cli ...``.

From source the same two programs are ``python main.py`` and ``evp-studio``.
"""

import multiprocessing
import sys


def main() -> int:
    """Run the CLI when the first argument is ``cli``, the editor otherwise."""
    if len(sys.argv) > 1 and sys.argv[1] == "cli":
        from evp_studio.cli import main as cli_main  # noqa: PLC0415

        return cli_main(sys.argv[2:])
    from ui.app import main as gui_main  # noqa: PLC0415

    return gui_main(sys.argv[1:])


if __name__ == "__main__":
    multiprocessing.freeze_support()  # worker processes of a frozen app start here too
    sys.exit(main())
