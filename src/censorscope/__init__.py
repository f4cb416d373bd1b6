"""censorscope: an open internet-censorship observatory.

Layers (dependencies point one way): ``model`` (pure data) <- ``net`` (do I/O, classify
errors) <- ``trace`` (record network events) <- ``experiments`` <- ``probe``; ``control`` is the
test helper; ``collector`` -> ``archive`` -> ``store``; ``pipeline`` decides (imports only
``model``); ``api`` -> ``web``; ``report``; ``lab`` is the censorship lab; ``cli`` the commands.
"""

__version__ = "0.1.0"
