"""Double-click entry point: opens PhotoCLIP."""

from photoclip.app import main

if __name__ == "__main__":
    raise SystemExit(main())
