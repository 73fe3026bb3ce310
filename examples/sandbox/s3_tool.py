"""S3 chores for the walkthrough and the tests, through s3fs (run with .venv-train, AWS_* variables
pointing at the store, e.g. moto's S3 server on 127.0.0.1). `get` does what KServe's storage
initializer does for a pod: copies a storageUri into a local folder.

.venv-train/bin/python examples/sandbox/s3_tool.py mkbucket NAME
.venv-train/bin/python examples/sandbox/s3_tool.py put LOCAL_DIR s3://bucket/prefix/
.venv-train/bin/python examples/sandbox/s3_tool.py get s3://bucket/prefix/ LOCAL_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import s3fs


def main(command: str, *arguments: str) -> None:
    filesystem = s3fs.S3FileSystem()
    if command == "mkbucket":
        filesystem.mkdir(arguments[0])
    elif command == "put":
        local, uri = Path(arguments[0]), arguments[1].rstrip("/")
        for path in sorted(local.rglob("*")):
            if path.is_file():
                filesystem.put_file(str(path), f"{uri}/{path.relative_to(local)}")
    elif command == "get":
        uri, local = arguments[0].rstrip("/"), Path(arguments[1])
        for remote in filesystem.find(uri):
            target = local / remote[len(uri.removeprefix("s3://")) + 1 :]
            target.parent.mkdir(parents=True, exist_ok=True)
            filesystem.get_file(remote, str(target))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(*sys.argv[1:])
