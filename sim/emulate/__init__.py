"""The asyncio driver: the same control plane and join workflow over real HTTPS on loopback.

``server.py`` serves a ``ControlPlane`` to real clients (kubectl, the official
Python client, ``joinsim join``); ``client.py`` carries out a join workflow's
commands over real sockets and files.
"""
