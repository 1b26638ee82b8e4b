"""The registry's tests use the shared helpers: make_id (core.testing) and the make_elder fixture
(yanglao/conftest.py)."""

from yanglao.core.testing import make_id  # noqa: F401  (imported from here by older tests)
