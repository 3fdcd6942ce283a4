"""Helpers shared by ``tests/`` and ``bench/``: start servers and clients, make synthetic boards.

Not shipped (the wheel packages only ``classroom`` and ``boardclient``); nothing shipped imports
it, and ``tests/test_codebase.py`` checks that tests and benchmarks meet here rather than in each
other.

* :mod:`testkit.procs` -- real subprocesses: ``classroom serve``, ``redis-server``, ``teacher add``.
* :mod:`testkit.client` -- python-socketio peers and an aiohttp ``Api`` that record what they get.
* :mod:`testkit.scenario` -- a small classroom (teacher, class, students) set up over HTTP.
* :mod:`testkit.crowd_client`, :mod:`testkit.crowd` -- light raw-websocket students in crowds.
* :mod:`testkit.synth` -- seeded board photos and lesson clips with known truth.
"""
