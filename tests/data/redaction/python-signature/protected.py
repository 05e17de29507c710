"""Starting a worker process with its settings checked."""

import os
import sys


class Worker:
    def __init__(self, argv, workdir=None, env=None, *,
                 nice=0, timeout=None, retries=3, backoff=0.5,
                 stdin=None, stdout=None, stderr=None, keep_env=False,
                 umask=-1, user=None, group=None, extra_groups=None,
                 pass_fds=(), close_fds=True, new_session=False,
                 encoding=None, errors=None, text=None, buffer_size=-1,
                 name=None, on_exit=None):
        if not argv:
            raise ValueError(
                "a worker needs a command to run, got %r" % (argv,)
            )
        if retries < 0 or backoff < 0:
            raise ValueError("retries and backoff cannot be negative")
        self.argv = list(argv)
        self.workdir = workdir or os.getcwd()
        self.env = dict(os.environ if keep_env else {}, **(env or {}))
        self.name = name or os.path.basename(self.argv[0])
        self.on_exit = on_exit

    def describe(self):
        return "%s in %s" % (" ".join(self.argv), self.workdir)
