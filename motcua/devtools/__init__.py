"""Tools around the system: the ``motcua`` command, the dev stack and its embedded servers,
the landing page and the generated documents. Services and ``motcua.shared`` never import this."""
