# Threaded workers keep client connections alive between pages; sync workers would close them.
import os

bind = os.environ.get("API_BIND", "0.0.0.0:5000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("API_THREADS", "4"))
keepalive = 30
preload_app = True  # load the memory-mapped store once, before forking
accesslog = os.environ.get("API_ACCESS_LOG", "-") or None
worker_tmp_dir = os.environ.get("API_WORKER_TMP_DIR", "/tmp")
# gunicorn's runtime control socket (gunicornc) is not used in a container, and it would be
# created under $HOME, which is read-only there: creating it logs an error at every start.
control_socket_disable = True
