# PyInstaller run-time hook (installer/photoclip.spec): where Qt finds its plugins in the built
# app. It replaces PyInstaller's own PySide6 hook, which imports PySide6.QtCore when the app
# starts (~0.16 s on 2 cores) to write a qt.conf that PyPI's PySide6 embeds by itself: a
# command-line search never needs Qt, so it does not load it. Only environment variables here.
import os
import sys

_qt = os.path.join(sys._MEIPASS, "PySide6") if sys.platform.startswith("win") \
    else os.path.join(sys._MEIPASS, "PySide6", "Qt")
os.environ["QT_PLUGIN_PATH"] = os.path.join(_qt, "plugins")
os.environ["QML2_IMPORT_PATH"] = os.path.join(_qt, "qml")
if sys.platform.startswith("win"):  # (OpenSSL DLLs for QtNetwork, as PyInstaller's hook does)
    os.environ["PATH"] = sys._MEIPASS + os.pathsep + os.environ.get("PATH", "")
elif sys.platform == "darwin" and ".app/Contents/" not in sys._MEIPASS:
    os.environ["DYLD_LIBRARY_PATH"] = sys._MEIPASS + os.pathsep \
        + os.environ.get("DYLD_LIBRARY_PATH", "")
del _qt
