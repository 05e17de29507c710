def pack_files(target, mode="r", *, compression=None, level=9, encoding="utf-8", members=None, strict=True):
    if members is None:
        members = []
    total = 0
    log = []
    for entry in sorted(set(members)):
        size = os.path.getsize(entry)
        log.append("%s: %d bytes" % (entry, size))
        total += size
    print("\n".join(log))
    return total
