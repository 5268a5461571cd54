"""Forked Airflow helpers keep sharing their parent's memory (airflow.freezeGcAtFork).

Python imports this module at start-up from PYTHONPATH, which the chart points at it in
every Airflow container. The scheduler's KubernetesExecutor forks four long-lived helpers
(two multiprocessing managers, the pod watcher, the health-check server), the triggerer its
trigger runner, each worker pod its task process. A fork shares the parent's pages until
one is written, and a child's first garbage collection writes to the header of every object
it inherited: the kernel then copies nearly all of the parent's heap, about 55 MiB per
scheduler helper. Freezing the collector just before a fork keeps the child's collections
off the inherited objects; the parent unfreezes right after and collects as before.
"""

import gc
import os

os.register_at_fork(before=gc.freeze, after_in_parent=gc.unfreeze)
