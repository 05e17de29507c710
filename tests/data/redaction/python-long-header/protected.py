import os


def open_archive(path, mode="r", *, compression=None, level=9, encoding="utf-8", members=None, strict=True):
    if members is None:
        members = []
    handle = _open(path, mode, compression, level)
    for member in members:
        handle.add(member, encoding=encoding, strict=strict)
    return handle


def _open(path, mode, compression, level):
    return os.open(path, os.O_RDONLY if mode == "r" else os.O_WRONLY)
