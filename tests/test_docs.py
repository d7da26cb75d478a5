"""The docs must not drift from the code.

* Links: every relative markdown link in README.md, docs/**/*.md, agents/README.md and
  tests/data/**/README.md resolves to a file or folder inside the repository
  (http(s)/mailto links and pure ``#anchors`` are skipped, ``#anchor`` parts stripped).
* Code references in the hand-written docs (README.md, docs/*.md,
  docs/results/README.md, agents/README.md, tests/data/**/*.md) inside backticks:

  - `` `path/module.py: Name` `` / `` `path/module.py: Class.attr` ``: the file exists
    and defines the name (``ast``: a module-level def, class or assignment; for
    ``Class.attr`` a method, class attribute or ``self.attr`` assignment of that class
    itself).  Any backtick span containing ``.py:`` must have exactly this form.
    A span that follows such a reference after `` / `` (`` `a.py: C.m` / `n` ``)
    names ``C.n`` (or ``n``, or ``D.n`` if written so) of the same file;
  - `` `path/module.py` ``: the file exists;
  - `` `Class.attr` `` (also `` `Class.attr()` ``) for a class defined in the package:
    the attribute exists in the class or one of its package base classes;
  - `` `kfac.Dense` ``-style names whose first part is one of the package's modules
    (``kfac``, ``common``, ``cli``, ...): ``baselines_acktr.kfac.Dense`` imports;
  - `` `baselines_acktr/...` ``, `` `docs/...` ``, `` `tests/...` ``, `` `benchmarks/...` ``
    paths of any kind: they exist (a glob must match something);
  - ``python some/script.py`` in spans and code blocks: the script exists.

  Paths are relative to ``baselines_acktr/``, except ``baselines_acktr/…``, ``tests/…``,
  ``benchmarks/…`` and ``run_*.py`` (repository root); a path may also be relative
  to the doc's own folder.  Names of OpenAI Baselines' own files are not ours: a table
  column headed by "baselines" alone (e.g. "ports (baselines)", "baselines (TF1)",
  but not "baselines / this port") and the few upstream paths in ``UPSTREAM`` are
  skipped.
* Modules (README.md, docs/*.md, docs/results/README.md; tests/data READMEs may name
  the modules of the release that wrote their data): ``python -m baselines_acktr.x``,
  ``from baselines_acktr.x import a, b`` / ``import baselines_acktr.x`` in code blocks
  and `` `baselines_acktr.x.y` `` spans must import.
"""
from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "baselines_acktr"

LINK_DOCS = sorted({ROOT / "README.md", *ROOT.glob("docs/**/*.md"),
                    *ROOT.glob("tests/data/**/README.md"), ROOT / "agents/README.md"})
CODE_DOCS = sorted({ROOT / "README.md", *ROOT.glob("docs/*.md"), ROOT / "docs/results/README.md",
                    *ROOT.glob("tests/data/**/*.md"), ROOT / "agents/README.md"})
MODULE_DOCS = [d for d in CODE_DOCS if not d.is_relative_to(ROOT / "tests" / "data")]

# Files of openai/baselines that the docs name in prose as what was ported; none exists here.
UPSTREAM = {"acktr/kfac.py"}

REF = re.compile(r"(?P<path>[A-Za-z0-9_./-]+\.py): (?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)")
PLAIN_PY = re.compile(r"[A-Za-z0-9_./-]*[A-Za-z0-9_]\.py")
REPO_PATH = re.compile(r"(?:baselines_acktr|docs|tests|benchmarks)/[^\s`<>]*")
BARE_ATTR = re.compile(r"(?P<cls>[A-Z]\w*)\.(?P<attr>[A-Za-z_]\w*)(?:\(.*\))?")
IDENT = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?")
SHORT_DOTTED = re.compile(r"(?P<top>[a-z]\w*)(?:\.[A-Za-z_]\w*)+")
DOTTED = re.compile(r"baselines_acktr(?:\.\w+)+")
SCRIPT = re.compile(r"\bpython3?\s+(?P<script>[\w./-]+\.py)\b")
RUN_MODULE = re.compile(r"\bpython3?\s+-m\s+(?P<mod>baselines_acktr(?:\.\w+)*)(?![.\w<])")
FROM_IMPORT = re.compile(r"^\s*from\s+(?P<mod>baselines_acktr[\w.]*)\s+import\s+(?P<names>[^#\n]+)",
                         re.M)
IMPORT = re.compile(r"^\s*import\s+(?P<mod>baselines_acktr[\w.]*)", re.M)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?(?P<target>[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(?P<target>\S+?)>?(?:\s.*)?$", re.M)
SPAN = re.compile(r"(?<!`)(?P<ticks>`+)(?!`)(?P<body>.+?)(?<!`)(?P=ticks)(?!`)", re.S)
FENCE = re.compile(r"^\s*(```|~~~)")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.as_posix()


def _ids(docs):
    return [_rel(d) for d in docs]


# ------------------------------------------------------------------ markdown
@functools.cache
def _split(doc: Path):
    """``(prose, blocks)``: the text with fenced code blocks blanked (offsets and line
    numbers kept) and the blocks as ``[(line, code)]``."""
    prose, blocks, block, start = [], [], None, 0
    for i, line in enumerate(doc.read_text(encoding="utf-8").splitlines(keepends=True), 1):
        if FENCE.match(line):
            if block is None:
                block, start = [], i
            else:
                blocks.append((start, "".join(block)))
                block = None
            prose.append("\n" if line.endswith("\n") else "")
        elif block is not None:
            block.append(line)
            prose.append("\n" if line.endswith("\n") else "")
        else:
            prose.append(line)
    return "".join(prose), blocks


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _cells(line: str):
    """``[(start, end)]`` of a table row's cells (``|`` inside backticks is not a border)."""
    bounds, in_code = [], False
    for i, ch in enumerate(line):
        if ch == "`":
            in_code = not in_code
        elif ch == "|" and not in_code and (i == 0 or line[i - 1] != "\\"):
            bounds.append(i)
    return list(zip(bounds, bounds[1:]))


def _upstream_ranges(prose: str):
    """Offsets of table cells in columns headed by "baselines" alone (upstream names)."""
    ranges, lines, offset = [], prose.splitlines(keepends=True), 0
    starts = []
    for line in lines:
        starts.append(offset)
        offset += len(line)
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith("|"):
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j].lstrip().startswith("|"):
            j += 1
        header = lines[i]
        upstream = {k for k, (a, b) in enumerate(_cells(header))
                    if re.search(r"\bbaselines\b", header[a + 1:b], re.I)
                    and not re.search(r"this port|here|this project", header[a + 1:b], re.I)}
        for r in range(i + 2, j):
            for k, (a, b) in enumerate(_cells(lines[r])):
                if k in upstream:
                    ranges.append((starts[r] + a, starts[r] + b))
        i = j
    return ranges


def _spans(doc: Path):
    """``[(line, body, start, end)]`` of the inline code spans outside code blocks."""
    prose, _ = _split(doc)
    out = []
    for m in SPAN.finditer(prose):
        body = m.group("body")
        if "\n\n" in body:
            continue
        body = body.replace("\n", " ")
        if body.startswith(" ") and body.endswith(" ") and body.strip():
            body = body[1:-1]
        out.append((_line(prose, m.start()), body, m.start(), m.end()))
    return out


# ------------------------------------------------------------------ python sources
def _targets(node):
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, (ast.Tuple, ast.List)):
        for elt in node.elts:
            yield from _targets(elt)


def _collect(body, names, classes):
    """Module-level names of ``body`` (also inside top-level if/try/with blocks)."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            classes[node.name] = (_members(node), [_base_name(b) for b in node.bases])
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                names.update(_targets(t))
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            names.update(_targets(node.target))
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            parts = [node.body, getattr(node, "orelse", []), getattr(node, "finalbody", []),
                     *[h.body for h in getattr(node, "handlers", [])]]
            for part in parts:
                _collect(part, names, classes)


@functools.cache
def _module(path: Path):
    """``(top-level names, {class: (members, base names)})`` of a python file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names, classes = set(), {}
    _collect(tree.body, names, classes)
    return names, classes


def _base_name(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _members(cls: ast.ClassDef):
    members = set()
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            members.add(node.name)
        elif isinstance(node, ast.Assign):
            members.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            members.add(node.target.id)
    for node in ast.walk(cls):  # self.x = ... in its methods
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                for sub in ast.walk(t):
                    if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) \
                            and sub.value.id == "self":
                        members.add(sub.attr)
    return members


@functools.cache
def _package_classes():
    """``{class name: [(members, base names)]}`` over every module of the package."""
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        for name, info in _module(path)[1].items():
            out.setdefault(name, []).append(info)
    return out


@functools.cache
def _package_modules():
    """The package's top-level modules and subpackages (``kfac``, ``common``, ``cli``, ...)."""
    return {p.parent.name if p.name == "__init__.py" else p.stem
            for p in [*PKG.glob("*/__init__.py"), *PKG.glob("*.py")] if p.name != "__init__.py"
            or p.parent != PKG}


def _class_has(cls: str, attr: str, seen=frozenset()) -> bool:
    for members, bases in _package_classes().get(cls, []):
        if attr in members:
            return True
        if any(b not in seen and _class_has(b, attr, seen | {cls}) for b in bases if b):
            return True
    return False


def _defines(path: Path, name: str):
    """None if ``path`` defines ``name`` (``Name`` or ``Class.attr``), else why not."""
    names, classes = _module(path)
    if "." not in name:
        return None if name in names else f"{_rel(path)} defines no {name}"
    cls, attr = name.split(".")
    if cls not in classes:
        return f"{_rel(path)} defines no class {cls}"
    return None if attr in classes[cls][0] else f"class {cls} in {_rel(path)} has no {attr}"


def _resolve(path: str, doc: Path):
    """The file or folder a doc's path names, or None."""
    p = path.rstrip("/")
    if p.startswith(("baselines_acktr/", "tests/", "benchmarks/", "docs/", "examples/")) or \
            re.fullmatch(r"run_\w+\.py", p):
        candidates = [ROOT / p]
    else:
        candidates = [PKG / p]
    candidates.append(doc.parent / p)
    for c in candidates:
        if c.exists() and c.resolve().is_relative_to(ROOT):
            return c
    return None


# ------------------------------------------------------------------ modules
def _import_error(module: str, names=()):
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        return f"cannot import {module}: {e}"
    missing = [n for n in names if not hasattr(mod, n)]
    return f"{module} has no {', '.join(missing)}" if missing else None


def _dotted_error(dotted: str):
    """``baselines_acktr.a.b``: a module, or a module's attribute."""
    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        mod = ".".join(parts[:k])
        try:
            found = importlib.util.find_spec(mod) is not None
        except ImportError:
            found = False
        if found:
            rest = parts[k:]
            if not rest:
                return None
            obj = importlib.import_module(mod)
            for attr in rest:
                if not hasattr(obj, attr):
                    return f"{'.'.join(parts[:k])} has no {'.'.join(rest)}"
                obj = getattr(obj, attr)
            return None
    return f"no module {dotted}"


def _runnable_error(module: str):
    try:
        spec = importlib.util.find_spec(module)
    except ImportError as e:
        return f"cannot find {module}: {e}"
    if spec is None:
        return f"no module {module}"
    if spec.submodule_search_locations is not None and \
            importlib.util.find_spec(module + ".__main__") is None:
        return f"package {module} has no __main__"
    return None


# ------------------------------------------------------------------ checks
def link_problems(doc: Path):
    prose, _ = _split(doc)
    # links inside code spans are not links
    text = SPAN.sub(lambda m: m.group(0) if not re.search(r"\]\(", m.group(0))
                    else " " * len(m.group(0)), prose)
    problems = []
    for m in [*LINK.finditer(text), *REF_LINK.finditer(text)]:
        target = m.group("target")
        if re.match(r"(?i)(https?|mailto|ftp):", target) or target.startswith("#"):
            continue
        path = unquote(target.split("#", 1)[0].split("?", 1)[0])
        full = (doc.parent / path).resolve()
        where = f"{_rel(doc)}:{_line(text, m.start())}"
        if not full.is_relative_to(ROOT):
            problems.append(f"{where}: link {target} leaves the repository")
        elif not full.exists():
            problems.append(f"{where}: link {target} names nothing")
    return problems


def _ref_problem(body, ref, doc):
    """``(problem or None, chain context)`` of a `` `path.py: Name` `` span."""
    path = _resolve(ref["path"], doc)
    if path is None or not path.is_file():
        return f"`{body}`: no file {ref['path']}", None
    why = _defines(path, ref["name"])
    cls = ref["name"].split(".")[0] if "." in ref["name"] else None
    return (f"`{body}`: {why}" if why else None), (path, cls)


def _chained_problem(body, context):
    path, cls = context
    name = body if "." in body or cls is None else f"{cls}.{body}"
    why = _defines(path, name)
    return f"`{body}` (after `{_rel(path)}: ...` / ): {why}" if why else None


def _other_problem(body, doc):
    """A plain path, `Class.attr`, `module.name` or repository path span; None if fine
    or not a code reference."""
    if PLAIN_PY.fullmatch(body):
        return None if body in UPSTREAM or _resolve(body, doc) else f"`{body}`: no such file"
    short = SHORT_DOTTED.fullmatch(body)
    if short and short["top"] in _package_modules():
        why = _dotted_error("baselines_acktr." + body)
        return f"`{body}` (baselines_acktr.{body}): {why}" if why else None
    attr = BARE_ATTR.fullmatch(body)
    if attr and attr["cls"] in _package_classes():
        ok = _class_has(attr["cls"], attr["attr"])
        return None if ok else f"`{body}`: class {attr['cls']} has no {attr['attr']}"
    if REPO_PATH.fullmatch(body):
        if any(ch in body for ch in "*?["):
            return None if list(ROOT.glob(body)) else f"`{body}`: matches no file"
        return None if (ROOT / body.rstrip("/")).exists() else f"`{body}`: no such file or folder"
    return None


def code_problems(doc: Path):
    prose, blocks = _split(doc)
    upstream = _upstream_ranges(prose)
    spans = _spans(doc)
    problems = []
    context = None  # (file, class or None) of the last `file.py: Name` span, for ` / ` chains
    prev_end = None
    for line, body, start, end in spans:
        if any(a <= start < b for a, b in upstream):
            context = None
            continue
        chained = context is not None and prose[prev_end:start].strip() == "/"
        prev_end = end
        body = body.strip()
        ref = REF.fullmatch(body)
        if ref:
            problem, context = _ref_problem(body, ref, doc)
        elif ".py:" in body:
            problem, context = f"`{body}`: a code reference is written `path/module.py: Name`", None
        elif chained and IDENT.fullmatch(body):
            problem = _chained_problem(body, context)
        else:
            problem, context = _other_problem(body, doc), None
        if problem:
            problems.append(f"{_rel(doc)}:{line}: {problem}")
    for line, text in [(s[0], s[1]) for s in spans] + blocks:
        for m in SCRIPT.finditer(text):
            if _resolve(m["script"], doc) is None:
                problems.append(f"{_rel(doc)}:{line}: `python {m['script']}`: no such script")
    return problems


def module_problems(doc: Path):
    _, blocks = _split(doc)
    problems = []
    texts = [(line, body) for line, body, _, _ in _spans(doc)] + blocks
    for line, text in texts:
        where = f"{_rel(doc)}:{line}"
        for m in RUN_MODULE.finditer(text):
            why = _runnable_error(m["mod"])
            if why:
                problems.append(f"{where}: python -m {m['mod']}: {why}")
        for m in FROM_IMPORT.finditer(text):
            names = [n.strip().split(" as ")[0].strip("() ") for n in m["names"].split(",")]
            why = _import_error(m["mod"], [n for n in names if n and n != "*"])
            if why:
                problems.append(f"{where}: from {m['mod']} import ...: {why}")
        for m in IMPORT.finditer(text):
            why = _import_error(m["mod"])
            if why:
                problems.append(f"{where}: import {m['mod']}: {why}")
    for line, body, _, _ in _spans(doc):
        if DOTTED.fullmatch(body.strip()):
            why = _dotted_error(body.strip())
            if why:
                problems.append(f"{_rel(doc)}:{line}: `{body}`: {why}")
    return problems


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("doc", LINK_DOCS, ids=_ids(LINK_DOCS))
def test_links_resolve(doc):
    problems = link_problems(doc)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("doc", CODE_DOCS, ids=_ids(CODE_DOCS))
def test_code_references_exist(doc):
    problems = code_problems(doc)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("doc", MODULE_DOCS, ids=_ids(MODULE_DOCS))
def test_modules_import(doc):
    problems = module_problems(doc)
    assert not problems, "\n".join(problems)


def test_upstream_names_are_not_ours():
    """The upstream exemptions cannot hide a reference to this repository's files."""
    for path in UPSTREAM:
        assert not (PKG / path).exists() and not (ROOT / path).exists(), path


def test_checker_catches_drift(tmp_path):
    """A moved name, a missing file, a malformed reference and a dead link are flagged."""
    doc = tmp_path / "doc.md"
    doc.write_text(
        "`kfac/optimizer.py: KfacOptimizer._conv_act_cov` `kfac.py: KfacOptimizer.build` "
        "`kfac/optimizer.py: KfacOptimizer.start_async` / `_snapshot` "
        "`KfacOptimizer._eigen_due` `utils.py` `acktr.py: Model` `x.py:Name` "
        "`baselines_acktr/data/README.md` `kfac._patch_gram_by_rows` [x](../nowhere.md)\n"
        "`kfac/patches.py: patch_gram_by_rows` `kfac/optimizer.py: KfacOptimizer.vFv` "
        "`common/actor_critic.py: ActorCriticModel.losses` `Model.value` `parity.py` "
        "`kfac/config.py: KfacConfig.cold_lr` `tests/test_docs.py`\n", encoding="utf-8")
    _split.cache_clear()
    problems = code_problems(doc)
    flagged = " ".join(problems)
    for name in ("_conv_act_cov", "kfac.py", "_snapshot", "_eigen_due", "utils.py", "acktr.py",
                 "x.py:Name", "baselines_acktr/data/README.md", "kfac._patch_gram_by_rows"):
        assert name in flagged, (name, problems)
    assert len(problems) == 9, problems
    assert len(link_problems(doc)) == 1


# ------------------------------------------------------------------ docstrings
# References in the package's docstrings (module, class and function):
#
# * Sphinx roles (``:class:``, ``:func:``, ``:meth:``, ``:attr:``, ``:data:``, ``:mod:``,
#   ``:obj:``, ``:exc:``; ``~`` and ``title <target>`` forms): ``baselines_acktr.x.Name``
#   absolute, ``.x.Name`` / ``..x.Name`` against the module's package (like a relative
#   import), a plain ``Name`` / ``Class.attr`` in the enclosing classes or the module
#   itself.  Names of other libraries (an import of the module from outside the
#   package, an installed top-level module, a builtin) are not checked;
# * ````baselines_acktr.x.Name```` literals and ````python -m baselines_acktr.x````;
# * file paths in literals (````common/checkpoints.py````, ```baselines_acktr/x/```,
#   ````path/module.py: Name````), relative to the package or the repository root,
#   except in a sentence that names OpenAI Baselines or says what is ported (upstream
#   files: ````baselines/common/cmd_util.py````, "ports ``a2c/utils.py``").
#
# Everything is resolved from the sources' ``ast``: modules are files, a name is a
# top-level def, class, assignment or import (followed into the package), a class
# attribute is a method, class attribute or ``self.x`` of the class or its bases.
ROLE = re.compile(r":(?P<role>class|func|meth|attr|data|mod|obj|exc):`(?P<target>[^`]+)`")
DOC_LITERAL = re.compile(r"(?<!`)``(?P<body>[^`]+?)``(?!`)")
DOC_SINGLE = re.compile(r"(?<![`:\w])`(?P<body>[^`\s][^`]*?)`(?![`_])")
DOC_DOTTED = re.compile(r"baselines_acktr(?:\.\w+)+(?:\(\))?")
DOC_PATH = re.compile(r"(?P<path>[\w.*-]+(?:/[\w.*-]*)+|[\w.-]*\w\.py)(?::\s*(?P<name>[A-Za-z_][\w.]*)(?:\(\))?)?")
PATH_ROOTS = ("baselines_acktr", "tests", "docs", "benchmarks")
# a sentence naming upstream code: "baselines" (not baselines_acktr), port/ports/ported, branch
UPSTREAM_WORDS = re.compile(r"(?i)\bbaselines\b(?!_)|\bport(?:s|ed|ing)?\b|\bbranch\b")
SENTENCE_END = re.compile(r"[.!?](?=\s)|\n\s*\n|\n\s*[*-]\s")


def _mod_file(dotted: str):
    """The file of module ``baselines_acktr.x.y`` (``.py`` or ``__init__.py``), or None."""
    parts = dotted.split(".")
    if parts[0] != "baselines_acktr":
        return None
    base = ROOT.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _mod_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(path: Path) -> str:
    name = _mod_name(path)
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def _relative(path: Path, level: int, rest: str = "") -> str:
    base = _package_of(path).split(".")
    base = base[:len(base) - level + 1]
    return ".".join(base + ([rest] if rest else []))


def _import_nodes(body):
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            parts = [node.body, getattr(node, "orelse", []), getattr(node, "finalbody", []),
                     *[h.body for h in getattr(node, "handlers", [])]]
            for part in parts:
                yield from _import_nodes(part)


@functools.cache
def _imports(path: Path):
    """``{bound name: (project module or None if from outside, imported name or None)}``."""
    out = {}
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            for a in node.names:
                project = a.name.startswith("baselines_acktr")
                if a.asname:
                    out[a.asname] = (a.name if project else None, None)
                else:
                    top = a.name.split(".")[0]
                    out[top] = (top if project else None, None)
            continue
        src = _relative(path, node.level, node.module or "") if node.level else node.module or ""
        for a in node.names:
            out[a.asname or a.name] = (src if src.startswith("baselines_acktr") else None, a.name)
    return out


def _member_error(path: Path, cls: str, parts, strict=False):
    """None if class ``cls`` of ``path`` (or a base) has ``parts[0]``; deeper parts unchecked.
    Unless ``strict``, a class with a base from outside the package may have anything."""
    members, bases = _module(path)[1][cls]
    attr = parts[0]
    if attr in members or any(_class_has(b, attr) for b in bases if b):
        return None
    if not strict and any(b and b != "object" and b not in _package_classes() for b in bases):
        return None  # may come from a base outside the package
    return f"class {cls} in {_rel(path)} has no {attr}"


def _name_error(mod: str, parts, seen=frozenset()):
    """None if ``mod`` is a module of the package and defines ``parts`` (``Name``,
    ``Class.attr``, ``sub.Name`` of a package, or a re-exported import), else why not."""
    path = _mod_file(mod)
    if path is None:
        return f"no module {mod}"
    if not parts:
        return None
    head, rest = parts[0], list(parts[1:])
    if path.name == "__init__.py" and _mod_file(f"{mod}.{head}"):
        return _name_error(f"{mod}.{head}", rest, seen)
    names, classes = _module(path)
    if head in classes:
        return _member_error(path, head, rest) if rest else None
    if head in names:
        return None  # a function or a value: its attributes are not checked
    if head in _imports(path) and (mod, head) not in seen:
        src, orig = _imports(path)[head]
        if src is None:
            return None  # from outside the package
        return _name_error(src, ([orig] if orig else []) + rest, seen | {(mod, head)})
    return f"{mod} defines no {head}"


def _external(head: str, path: Path) -> bool:
    """``head`` names something outside the package (an installed module, a builtin)."""
    import builtins
    if head in _imports(path) or head in _module(path)[0] or head == "baselines_acktr":
        return False
    if hasattr(builtins, head):
        return True
    try:
        return importlib.util.find_spec(head) is not None
    except (ImportError, ValueError):
        return False


def _target_error(target: str, path: Path, scope):
    """None if a role's target resolves from module ``path`` with enclosing classes ``scope``."""
    target = target.strip()
    if "<" in target and target.endswith(">"):
        target = target[target.rindex("<") + 1:-1]
    target = target.lstrip("~!").removesuffix("()")
    if target.startswith("baselines_acktr."):
        return _name_error("baselines_acktr", target.split(".")[1:])
    local = target.lstrip(".")
    parts = local.split(".")
    if target.startswith("."):
        why = _name_error(_relative(path, len(target) - len(local)), parts)
        if why is None:
            return None
    else:
        why = None
    for cls in reversed(scope):
        if _member_error(path, cls, parts, strict=True) is None:
            return None
    local_why = _name_error(_mod_name(path), parts)
    if local_why is None or (why is None and _external(parts[0], path)):
        return None
    return why or local_why


def _sentences(text: str):
    """``[(start, end)]`` of the sentences (and list items) of a docstring."""
    bounds = [0, *(m.end() for m in SENTENCE_END.finditer(text)), len(text)]
    return list(zip(bounds, bounds[1:]))


def _upstream(text: str, start: int, end: int) -> bool:
    """The literal at ``start:end`` is in a sentence about OpenAI Baselines' files."""
    for a, b in _sentences(text):
        if a <= start < b:
            return bool(UPSTREAM_WORDS.search(text[a:start] + " " + text[end:max(b, end)]))
    return False


def _path_error(body: str, text: str, start: int, end: int, path: Path):
    m = DOC_PATH.fullmatch(body)
    if m is None:
        return None
    p, name = m["path"], m["name"]
    top = p.split("/")[0]
    subpackages = {q.parent.name for q in PKG.glob("*/__init__.py")}
    if not (p.endswith(".py") or top in PATH_ROOTS or (top in subpackages and "/" in p)):
        return None  # a run folder's layout, ``n/a``, a TF scope ...
    if top == "baselines" or _upstream(text, start, end):
        return None
    matches = [c for base in (ROOT, PKG) for c in base.glob(p.rstrip("/"))
               if c.resolve().is_relative_to(ROOT)]
    if not matches:
        return f"no file or folder {p} (in the package or the repository)"
    if name:
        files = [c for c in matches if c.is_file()]
        whys = [_defines(c, name) for c in files]
        if not files or all(whys):
            return whys[0] if whys else f"{p} is not a file"
    return None


def _literal_error(body: str, text: str, start: int, end: int, path: Path, local=frozenset()):
    body = body.strip()
    for m in RUN_MODULE.finditer(body):
        mod = _mod_file(m["mod"])
        if mod is None:
            return f"no module {m['mod']}"
        if mod.name == "__init__.py" and not (mod.parent / "__main__.py").exists():
            return f"package {m['mod']} has no __main__"
    if DOC_DOTTED.fullmatch(body):
        return _name_error("baselines_acktr", body.removesuffix("()").split(".")[1:])
    short = SHORT_DOTTED.fullmatch(body.removesuffix("()"))
    if short and short["top"] in _package_modules() and short["top"] not in local \
            and not body.endswith(".py") and not _upstream(text, start, end):
        return _name_error("baselines_acktr", body.removesuffix("()").split("."))
    return _path_error(body, text, start, end, path)


def _variables(tree) -> frozenset:
    """Names a module's code binds as variables or arguments: there ``envs.reset()`` is a
    call on a variable, not the package's ``envs`` module."""
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    names.update(n.arg for n in ast.walk(tree) if isinstance(n, ast.arg))
    return frozenset(names)


def _docstrings(tree):
    """``(first line, text, enclosing class names)`` of every docstring of a module."""
    def visit(node, scope):
        inner = scope + (node.name,) if isinstance(node, ast.ClassDef) else scope
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                yield body[0].value.lineno, body[0].value.value, inner
        for child in ast.iter_child_nodes(node):
            yield from visit(child, inner)
    yield from visit(tree, ())


def docstring_problems(path: Path, source: str | None = None):
    """``file:line: reference: why`` for each reference of ``path``'s docstrings (or of
    ``source`` read as that module) that names nothing."""
    problems = []
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"), filename=str(path))
    local = _variables(tree)
    for first, text, scope in _docstrings(tree):
        found = []
        for m in ROLE.finditer(text):
            found.append((m, _target_error(m["target"], path, scope)))
        blanked = ROLE.sub(lambda m: " " * len(m.group(0)), text)
        for m in DOC_LITERAL.finditer(blanked):
            found.append((m, _literal_error(m["body"], text, m.start(), m.end(), path, local)))
        blanked = DOC_LITERAL.sub(lambda m: " " * len(m.group(0)), blanked)
        for m in DOC_SINGLE.finditer(blanked):
            found.append((m, _path_error(m["body"].strip(), text, m.start(), m.end(), path)))
        for m, why in found:
            if why:
                line = first + text.count("\n", 0, m.start())
                problems.append(f"{_rel(path)}:{line}: {m.group(0)}: {why}")
    return problems


DOC_MODULES = sorted(PKG.rglob("*.py"))


def test_docstring_references_exist():
    """Every reference in the package's docstrings (Sphinx roles, ``baselines_acktr.x``
    literals, ``python -m``, file paths) names a module, name or file that exists."""
    problems = [p for path in DOC_MODULES for p in docstring_problems(path)]
    assert not problems, "\n".join(problems)


def test_docstring_checker_catches_drift():
    """Moved modules and names, a missing file and a missing method are flagged, as seen
    from a real module; other libraries' names and Baselines' files are not."""
    source = '''"""Stale: :class:`~baselines_acktr.checkpoints.Checkpointer`, ``cli.play``,
:func:`.train_loop.reached_gone`, :func:`~baselines_acktr.common.signals.gone`,
``baselines_acktr.common.nowhere``, ``common/nowhere.py``, `baselines_acktr/nowhere/`,
``python -m baselines_acktr.common``, ``common/learner.py: Gone``.

Fine: :class:`~baselines_acktr.common.checkpoints.Checkpointer`, :meth:`~.checkpoints.Checkpointer.restore`,
:mod:`baselines_acktr.common.signals`, :func:`..episodes.play`, ``baselines_acktr.cli.train``,
``common/checkpoints.py``, `baselines_acktr/acktr_cont/`, ``docs/``, :class:`Learner`,
``tf.train.Checkpoint``, :class:`numpy.ndarray`, :exc:`KeyboardInterrupt`, ``monitor/``.
Ports baselines ``common/running_mean_std.py``.
"""


class Learner:
    """:meth:`fit`, :meth:`gone_method`."""
'''
    problems = docstring_problems(PKG / "common" / "learner.py", source)
    flagged = " ".join(problems)
    for name in ("baselines_acktr.checkpoints", "cli.play", "reached_gone", "signals.gone",
                 "common.nowhere", "common/nowhere.py", "baselines_acktr/nowhere/",
                 "python -m baselines_acktr.common", "Gone", "gone_method"):
        assert name in flagged, (name, problems)
    assert len(problems) == 10, problems
    assert problems[0].startswith("baselines_acktr/common/learner.py:1: ")
