"""Entry point of the PyInstaller bundle: the same `restorelab` command."""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # data-loader workers re-enter here
    from desktop.cli import main

    sys.exit(main())
