"""gunicorn settings of the image plus a store that fails: a stand-in for a bug nobody has found yet."""

import runpy
from pathlib import Path

import movielens_api

_image = runpy.run_path(str(Path(movielens_api.__file__).with_name("gunicorn.conf.py")))
globals().update({k: v for k, v in _image.items() if not k.startswith("__")})


class FailingStore:
    def __init__(self, store):
        self._store = store

    def __len__(self):
        return len(self._store)  # /healthz keeps answering, so the test sees the server up

    def bounds(self, start_ts, end_ts):
        return self._store.bounds(start_ts, end_ts)

    def records(self, lo, hi):
        raise RuntimeError("injected fault: reading the ratings failed")


def post_worker_init(worker):
    worker.wsgi.store = FailingStore(worker.wsgi.store)
