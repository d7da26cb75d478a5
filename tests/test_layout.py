"""The package's layers: imports run one way, no module cycles, light parts stay light."""
import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "baselines_acktr"
# a unit may import only units of a lower layer (and itself)
LAYER = {"kfac": 0, "envs": 0, "compare": 0, "common": 1, "acktr": 2, "a2c": 2, "acktr_cont": 2, "cli": 3,
         "episodes": 4, "run_atari": 5, "run_mujoco": 5, "sweep": 6, "parity": 5, "explain": 5,
         "agent": 6, "export": 7}
# the comparison tool reads run folders and depends on nothing of training
COMPARE_MAY_IMPORT = {"compare", "common.cmd_util", "common.run_folder", "common.configs"}
MAX_LINES = 400


def module_name(path):
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def is_package(name):
    return (PKG.parent / Path(*name.split(".")) / "__init__.py").exists()


def imports_of(path):
    """Absolute names of the project modules ``path`` imports, anywhere in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for a in node.names:  # `from . import x` may name a submodule
                sub = f"{base}.{a.name}"
                exists = (PKG.parent / Path(*sub.split("."))).with_suffix(".py").exists()
                out.add(sub if exists or is_package(sub) else base)
    return {m for m in out if m.startswith("baselines_acktr.")}


def unit(name):
    return name.split(".")[1]


MODULES = {module_name(p): p for p in PKG.rglob("*.py")}
GRAPH = {m: imports_of(p) for m, p in MODULES.items()}


def test_every_unit_has_a_layer():
    units = {unit(m) for m in MODULES if m != "baselines_acktr"}
    assert not units - set(LAYER), f"give these units a layer in LAYER: {sorted(units - set(LAYER))}"


def test_imports_run_one_way():
    wrong = []
    for mod, deps in GRAPH.items():
        if mod == "baselines_acktr":
            continue
        for dep in deps:
            a, b = unit(mod), unit(dep)
            if a == "compare":
                if not any(dep == f"baselines_acktr.{ok}" or dep.startswith(f"baselines_acktr.{ok}.")
                           for ok in COMPARE_MAY_IMPORT):
                    wrong.append((mod, dep))
            elif a != b and LAYER[a] <= LAYER[b]:
                wrong.append((mod, dep))
    assert not wrong, wrong


def test_no_import_cycles():
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for d in GRAPH.get(m, ()):
            if d not in GRAPH:
                continue
            if state.get(d) == "open":
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(d):] + [d]))
            if d not in state:
                visit(d)
        stack.pop()
        state[m] = "done"

    for m in GRAPH:
        if m not in state:
            visit(m)


def test_every_module_is_small():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_envs_compare_and_the_package_root_import_no_tensorflow():
    # env worker subprocesses unpickle their builders from baselines_acktr.envs (MuJoCo's
    # EGL renderer crashes in a process that has loaded TF); compare needs no TF at all
    code = ("import sys, baselines_acktr, baselines_acktr.envs, baselines_acktr.compare, "
            "baselines_acktr.sweep.trial; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'tensorflow'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
