"""Run inside the interpreter being checked (`python -c <this file> <json>`): import things, report as JSON.

Standalone on purpose (no imports from preflight): the fresh environment does not contain this package.
"""

import json
import os
import sys
import traceback

MARK = "@@preflight@@ "


def emit(event: dict[str, object]) -> None:
    sys.stdout.write(MARK + json.dumps(event) + "\n")
    sys.stdout.flush()


def failure(exc: BaseException, root: str) -> dict[str, object]:
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    where: list[object] | None = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(root) and "site-packages" not in frame.filename:
            where = [os.path.relpath(frame.filename, root), frame.lineno]
    if isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith(root):
        where = [os.path.relpath(exc.filename, root), exc.lineno]
    return {"error": last, "where": where}


def main() -> None:
    task = json.loads(sys.argv[1])
    root = os.getcwd()
    if task.get("path0") is not None:
        sys.path[0] = task["path0"]  # as `python dir/x.py` would: the script's folder, not the app root
    for name in task.get("imports", []):
        emit({"start": name})
        try:
            __import__(name)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt at import are failures too
            emit({"import": name, "ok": False, **failure(exc, root)})
        else:
            emit({"import": name, "ok": True})
    for name in task.get("specs", []):
        import importlib.util

        try:
            found = importlib.util.find_spec(name) is not None
            emit({"spec": name, "ok": found, "error": None if found else f"No module named '{name}'"})
        except BaseException as exc:
            emit({"spec": name, "ok": False, **failure(exc, root)})
    for name in task.get("console", []):
        emit({"start": f"console script {name}"})
        emit({"console": name, **console(name, root)})
    if task.get("dists"):
        from importlib.metadata import packages_distributions

        emit({"dists": packages_distributions()})


def console(name: str, root: str) -> dict[str, object]:
    import shutil
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group="console_scripts") if ep.name == name]
    if not found:
        bindir = os.path.dirname(sys.executable)
        if shutil.which(name, path=bindir + os.pathsep + os.environ.get("PATH", "")):
            return {"ok": True, "detail": "not a Python entry point; found on PATH"}
        return {"ok": False, "error": f"command not found: no distribution provides `{name}`", "where": None}
    try:
        found[0].load()
    except BaseException as exc:
        return {"ok": False, **failure(exc, root)}
    return {"ok": True}


if __name__ == "__main__":
    main()
