"""Qt-free core of PhotoCLIP: catalog, decoding, encoding, index, indexing, search.

Everything the GUI and the CLI do goes through :class:`photoclip.core.library.Library`.
"""
