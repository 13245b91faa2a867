#!/usr/bin/env python3
"""Lists import circles between the modules of each workspace crate, and
imports that climb from a crate's modules into its root (lib.rs).

A module is a file; an edge A -> B means A names an item of B through
`crate::`, `super::` or a path into a child module. `mod` declarations are not edges.
Exit status 1 when a circle or an import from the root exists.
"""
import pathlib, re, sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

def module_of(src: pathlib.Path, file: pathlib.Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)

def strip(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    # test modules are not part of the layering
    cut = re.search(r"#\[cfg\(test\)\]\s*mod tests", text)
    return text[: cut.start()] if cut else text

def resolve(modules: set, base: tuple) -> tuple | None:
    """The longest prefix of `base` that is a module."""
    for n in range(len(base), -1, -1):
        if base[:n] in modules:
            return base[:n]
    return None

def crate_edges(src: pathlib.Path):
    files = {module_of(src, f): f for f in src.rglob("*.rs")}
    modules = set(files)
    edges = {m: set() for m in modules}
    for mod, file in files.items():
        text = strip(file.read_text())
        # expand `use crate::{a, b::c}` groups one level
        for m in re.finditer(r"\b(crate|super)(?=::)((?:::\w+)*)(?:::\{([^}]*)\})?", text):
            head, path, group = m.group(1), m.group(2), m.group(3)
            parts = [p for p in path.split("::") if p]
            if head == "crate":
                start = ()
            else:
                # super of a file module: its parent (mod.rs files are their dir)
                start = mod[:-1]
                while parts and parts[0] == "super":
                    parts.pop(0)
                    start = start[:-1]
            paths = [start + tuple(parts)]
            if group:
                paths = [start + tuple(parts) + tuple(g.strip().split("::")[0:1]) for g in group.split(",") if g.strip()]
            for p in paths:
                target = resolve(modules, p)
                if target is not None and target != mod:
                    edges[mod].add(target)
        # a parent naming its own child module (`login::login`, `pub use login::...`)
        for m in re.finditer(r"(?<![\w:])(\w+)::", text):
            child = mod + (m.group(1),)
            if child in modules:
                edges[mod].add(child)
    return edges

def cycles(edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    def visit(v):
        index[v] = low[v] = counter[0]; counter[0] += 1
        stack.append(v); on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1:
                out.append(comp)
    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return out

def name(m):
    return "/".join(m) or "lib"

found = 0
for src in sorted(ROOT.glob("crates/*/src")):
    edges = crate_edges(src)
    for comp in cycles(edges):
        found += 1
        print(f"{src.parent.name}: circle " + " <-> ".join(sorted(name(m) for m in comp)))
    upward = sorted(name(m) for m, ts in edges.items() if () in ts and m != ())
    if upward:
        found += 1
        print(f"{src.parent.name}: {len(upward)} modules import from the crate root: {', '.join(upward)}")
sys.exit(1 if found else 0)
