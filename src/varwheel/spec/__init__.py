"""Pure implementation of the wheel-variant specifications (no I/O).

One module per concept: ``filenames``, ``properties``, ``metadata`` (models and
loaders for every schema generation), ``validation``, ``merge``, ``markers``,
``selection``. Nothing here reads files or the network.
"""
