# Root conftest: registers the pvmatrix pytest driver (harness/pytest_pvmatrix.py).
# Without --pvmatrix the plugin only adds its options, so tests/e2e runs as before.
pytest_plugins = ["harness.pytest_pvmatrix"]
