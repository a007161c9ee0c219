#!/usr/bin/env python3
"""The source tree's shape, checked (scripts/test.sh runs it; exits 1 on a failure):

1. No Rust file over 400 lines in convlab-core or convlab-web (sources and tests).
2. No import cycle between convlab-core's modules: a graph with one node per module file
   and an edge for every `crate::`/`super::` path a module uses (through `pub use`
   re-exports to the module that defines the item). A folder's `mod.rs` (or `folder.rs`)
   declaring and re-exporting its children is its surface, not a dependency; a child that
   uses an item its parent defines is one.
3. README's layout map (between the `layout:start` / `layout:end` markers) is the tree as it
   is: every module of the listed crates with the first line of its `//!` doc. `--write`
   regenerates it.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400
SIZE_CHECKED = ["crates/convlab-core", "crates/convlab-web"]
ACYCLIC = "crates/convlab-core/src"
MAPPED = [
    "crates/convlab-core/src",
    "crates/convlab-ops/src",
    "crates/convlab-picture/src",
    "crates/convlab-cli/src",
    "crates/convlab-web/src",
    "crates/convlab-web-cpu/src",
    "crates/convlab-web-gpu/src",
    "crates/convlab-fuzz/src",
]
START, END = "<!-- layout:start -->", "<!-- layout:end -->"


def too_long():
    problems = []
    for crate in SIZE_CHECKED:
        for path in sorted((ROOT / crate).rglob("*.rs")):
            lines = path.read_text().count("\n")
            if lines > MAX_LINES:
                problems.append(f"{path.relative_to(ROOT)}: {lines} lines (at most {MAX_LINES})")
    return problems


# ---- modules and their imports ----------------------------------------------------------


def module_files(src):
    """Module path (a tuple of names; () for the crate root) -> its file."""
    modules = {}
    for path in src.rglob("*.rs"):
        rel = path.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts in (["lib"], ["main"]):
            parts = []
        elif parts[-1] == "mod":
            parts = parts[:-1]
        modules[tuple(parts)] = path
    return modules


def without_tests(text):
    """The file without its `#[cfg(test)] mod tests { ... }` block (tests may use anything)."""
    match = re.search(r"#\[cfg\(test\)\]\s*mod \w+\s*\{", text)
    return text[: match.start()] if match else text


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (aliases and globs dropped)."""
    tree = re.sub(r"\s+", "", tree)
    brace = tree.find("{")
    if brace < 0:
        return [re.sub(r"as\w+$", "", tree.split(" as ")[0])]
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    items, depth, current = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        current += ch
    items.append(current)
    paths = []
    for item in filter(None, items):
        for path in expand_use(item):
            paths.append(prefix + path if path != "self" else prefix.rstrip(":"))
    return paths


def uses(text):
    """(is_pub, path) for every `use` tree, and (False, path) for inline crate/super paths."""
    found = []
    for m in re.finditer(r"(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", text):
        for path in expand_use(m.group(2)):
            found.append((bool(m.group(1)), path))
    body = re.sub(r"(pub(?:\([^)]*\))?\s+)?use\s+[^;]+;", "", text)
    for m in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", body):
        found.append((False, m.group(1)))
    return found


def absolute(module, path, modules):
    """`path` as used in `module`, from the crate root (None: outside the crate)."""
    parts = path.split("::")
    if parts[0] == "crate":
        return tuple(parts[1:])
    if parts[0] in ("super", "self"):
        base = module
        while parts and parts[0] in ("super", "self"):
            if parts[0] == "super":
                base = base[:-1]
            parts = parts[1:]
        return base + tuple(parts)
    if module + (parts[0],) in modules:
        return module + tuple(parts)  # a child module, named without `self::`
    return None


def resolve(path, modules, reexports, seen=()):
    """The module that defines what the absolute `path` names."""
    target = ()
    for i, name in enumerate(path):
        if target + (name,) in modules:
            target = target + (name,)
            continue
        key = (target, name)
        if key in reexports and key not in seen:
            return resolve(reexports[key] + path[i + 1 :], modules, reexports, seen + (key,))
        return target
    return target


def import_graph(src):
    modules = module_files(src)
    texts = {m: strip_comments(without_tests(p.read_text())) for m, p in modules.items()}
    reexports = {}
    for module, text in texts.items():
        for is_pub, path in uses(text):
            full = absolute(module, path, modules)
            if is_pub and full:
                reexports[(module, full[-1])] = full
    edges = {m: set() for m in modules}
    for module, text in texts.items():
        if module == ():
            continue  # the crate root only declares and re-exports
        for is_pub, path in uses(text):
            full = absolute(module, path, modules)
            if full is None:
                continue
            target = resolve(full, modules, reexports)
            if is_pub and target[: len(module)] == module:
                continue  # a parent's surface: its own children, re-exported
            if target != module and target != ():
                edges[module].add(target)
    return edges


def cycles(edges):
    """Every strongly connected component with more than one module (Tarjan)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def cycle_problems():
    edges = import_graph(ROOT / ACYCLIC)
    name = lambda m: "::".join(m) or "crate"
    problems = []
    for component in cycles(edges):
        members = set(component)
        links = sorted(
            f"{name(a)} -> {name(b)}" for a in members for b in edges[a] if b in members
        )
        problems.append(f"{ACYCLIC}: import cycle among {', '.join(sorted(map(name, members)))}: " + "; ".join(links))
    return problems


# ---- README's layout map ------------------------------------------------------------------


def first_doc_line(path):
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("//!"):
            text = line[3:].strip()
            if not text:
                break
            lines.append(text)
        elif lines or line.strip():
            break
    doc = " ".join(lines)
    sentence = re.match(r"(.+?[.:;])(\s|$)", doc)
    return (sentence.group(1) if sentence else doc).rstrip(".:;")


def layout():
    """Each crate's modules as a tree (a module's file before its children), each with the
    first sentence of its `//!` doc."""
    out = []
    for src in MAPPED:
        src_path = ROOT / src
        out.append(f"- `{src}/`")

        def module_path(path):
            parts = list(path.relative_to(src_path).with_suffix("").parts)
            if parts[-1] in ("mod", "lib", "main") and len(parts) > 1 or parts in (["lib"], ["main"]):
                parts = parts[:-1]
            return parts

        for path in sorted(src_path.rglob("*.rs"), key=module_path):
            rel = path.relative_to(src_path)
            doc = first_doc_line(path)
            if not doc:
                raise SystemExit(f"{src}/{rel.as_posix()}: no //! doc line to describe it in README's layout map")
            depth = max(len(module_path(path)), 1)
            name = rel.as_posix() if rel.name == "mod.rs" else rel.name
            if rel.name == "mod.rs" and len(rel.parts) > 2:
                name = "/".join(rel.parts[-2:])
            out.append(f"{'  ' * depth}- `{name}`: {doc}")
    return "\n".join(out)


def readme_problems(write):
    readme = ROOT / "README.md"
    text = readme.read_text()
    if START not in text or END not in text:
        return [f"README.md: the layout map's markers {START} / {END} are missing"]
    head, rest = text.split(START, 1)
    current, tail = rest.split(END, 1)
    wanted = "\n" + layout() + "\n"
    if current == wanted:
        return []
    if write:
        readme.write_text(head + START + wanted + END + tail)
        print("README.md: layout map rewritten")
        return []
    return ["README.md: the layout map is out of date with the tree (run scripts/check-structure.py --write)"]


def main():
    problems = too_long() + cycle_problems() + readme_problems("--write" in sys.argv)
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print("structure: no file over 400 lines, no import cycle in convlab-core, README's layout map current")


if __name__ == "__main__":
    main()
