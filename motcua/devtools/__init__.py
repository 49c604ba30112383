"""Tools around the system: the ``motcua`` command, the dev stack and its embedded servers,
the landing page and the generated documents; and what the tests, the benchmarks and the
fault-injection runs share: the servers they run on (``backends``), reading and writing
the bus directly (``bus``), cuttable TCP proxies (``tcpproxy``), stand-in SMS and e-mail
receivers (``sinks``), the services as processes (``stack``), a probe service of the bus
plumbing (``probe``) and sample events (``samples``).

Services and ``motcua.shared`` never import this; this never imports ``tests``,
``bench`` or ``chaos``. Development-only libraries (testcontainers, aiosmtpd) are
imported inside the functions that use them, so the production image, installed
without them, still runs the ``motcua`` command."""
