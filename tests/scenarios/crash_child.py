"""Child process for the crash test: indexes a folder, saving the index after every batch, and
waits to be killed with SIGKILL. Not a test module (pytest does not collect it)."""

import sys
import time
from pathlib import Path

from photoclip.core.library import Library


def main() -> None:
    home, folder, spec = sys.argv[1:4]
    lib = Library(Path(home), model=spec)
    lib.settings.batch_size = 8
    if not lib.catalog.folders():
        lib.folders.add(folder)
    # use the persisted HNSW regime, so kills also hit index saves
    lib.search_index.index.exact_max = 50

    def save_every_batch(progress) -> None:
        lib.search_index.mark_dirty()
        lib.search_index.save()
        time.sleep(0.05)  # pace the run so that the parent's kills land mid-way

    print("START", flush=True)
    lib.folders.index(progress=save_every_batch)
    print("DONE", flush=True)
    lib.close()


if __name__ == "__main__":
    main()
