"""Double-click entry point (and the PyInstaller app's): opens PhotoCLIP, or runs a command."""

import multiprocessing

from photoclip.app import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # (a built app started as a multiprocessing child)
    raise SystemExit(main())
