"""Stage 2's fast path: a compiled email part as static chunks with its `{{ }}` placeholders
between them, filled per subscriber by a small function generated with `exec` instead of a
full Jinja render (whose per-call Context setup costs more than the rest of a mostly static
page). Anything beyond plain lookups and filters (`{% if %}`, calls, operators) is left to
Jinja itself: same output, just slower. Also the undefined-value rules both paths share."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from markupsafe import escape

_MISSING = object()
UNDEFINED_NAME = re.compile(r"has no (?:attribute|field) '([^']+)'|^'([^']+)' is undefined")


class SubscriberFields(dict[str, Any]):
    """What templates see as `subscriber`: a dict, told apart so that a missing field of a
    subscriber is recognised as theirs (see `FieldUndefined`)."""


class MissingField(jinja2.UndefinedError):
    """`subscriber.<field>` for a subscriber without that field."""

    @property
    def field(self) -> str:
        found = UNDEFINED_NAME.search(self.message or "")
        return (found.group(1) or found.group(2)) if found else ""


class FieldUndefined(jinja2.StrictUndefined):
    """StrictUndefined whose error, for a field of `subscriber`, is `MissingField`."""

    __slots__ = ()

    def __init__(self, hint: str | None = None, obj: Any = jinja2.utils.missing, name: str | None = None,
                 exc: type[jinja2.exceptions.TemplateRuntimeError] = jinja2.UndefinedError) -> None:
        if isinstance(obj, SubscriberFields) and isinstance(name, str):
            hint, exc = hint or f"this subscriber has no field '{name}'", MissingField
        super().__init__(hint, obj, name, exc)



class SlotTemplate:
    """A compiled email part whose `{{ }}` placeholders are filled per subscriber."""

    def __init__(self, env: jinja2.Environment, source: str) -> None:
        self.source = source
        # Jinja's own parser, so delimiters, whitespace control and syntax errors are Jinja's.
        fast = _generate(env, env.parse(source))
        self.fast = fast is not None
        self._fn: Callable[[Mapping[str, Any]], str] = fast or env.from_string(source).render

    def render(self, context: Mapping[str, Any]) -> str:
        return self._fn(context)


def _generate(env: jinja2.Environment, ast: nodes.Template) -> Callable[[Mapping[str, Any]], str] | None:
    """One Python function joining static chunks and slot values, or None when the
    template needs more than lookups and filters."""
    namespace: dict[str, Any] = {}
    parts: list[str] = []
    plain_getattr = type(env).getattr is jinja2.Environment.getattr  # not a sandbox's own

    def constant(value: Any) -> str:
        name = f"_c{len(namespace)}"
        namespace[name] = value
        return name

    def expr(node: nodes.Node) -> str | None:
        if isinstance(node, nodes.Name) and node.ctx == "load":
            return f"_lookup(ctx, {node.name!r})"
        if isinstance(node, nodes.Const) and type(node.value) in (str, int, float, bool, type(None)):
            return repr(node.value)
        if isinstance(node, nodes.Getattr):
            inner = expr(node.node)
            # a name no dict has as an attribute: a dict's item, without Jinja's failed getattr first
            getter = "_getattr" if hasattr(SubscriberFields, node.attr) or not plain_getattr else "_field"
            return None if inner is None else f"{getter}({inner}, {node.attr!r})"
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            inner = expr(node.node)
            return None if inner is None else f"_getitem({inner}, {node.arg.value!r})"
        if isinstance(node, nodes.Filter) and node.node is not None \
                and not (node.dyn_args or node.dyn_kwargs):
            func = env.filters.get(node.name)
            passes = getattr(getattr(func, "jinja_pass_arg", None), "name", None)
            if func is None or passes == "context":
                return None  # unknown filters fail in Jinja's own compile, with its message
            args = [expr(node.node), *(expr(a) for a in node.args)]
            kwargs = [(kw.key, expr(kw.value)) for kw in node.kwargs]
            if None in args or any(v is None for _, v in kwargs):
                return None
            lead = {"environment": "_env, ", "eval_context": "_evalctx, "}.get(passes or "", "")
            call = ", ".join([*map(str, args), *(f"{k}={v}" for k, v in kwargs)])
            return f"{constant(func)}({lead}{call})"
        return None

    for output in ast.body:
        if not isinstance(output, nodes.Output):
            return None
        for child in output.nodes:
            if isinstance(child, nodes.TemplateData):
                if child.data:
                    parts.append(constant(child.data))
                continue
            code = expr(child)
            if code is None:
                return None
            parts.append(f"_out({code})")

    autoescape = env.autoescape(None) if callable(env.autoescape) else env.autoescape
    undefined, env_globals = env.undefined, env.globals

    def lookup(ctx: Mapping[str, Any], name: str) -> Any:
        value = ctx.get(name, _MISSING)
        if value is _MISSING:
            value = env_globals.get(name, _MISSING)
        return undefined(name=name) if value is _MISSING else value

    env_getattr = env.getattr

    def field(obj: Any, name: str) -> Any:
        # Jinja's getattr would try getattr(obj, name) first, which fails for such a name
        # and costs an exception every time (dict instances have no attributes of their own).
        if obj.__class__ is SubscriberFields or obj.__class__ is dict:
            value = obj.get(name, _MISSING)
            return undefined(obj=obj, name=name) if value is _MISSING else value
        return env_getattr(obj, name)

    # escape() and str() of a StrictUndefined raise UndefinedError, as in Jinja's own output.
    namespace.update(_out=escape if autoescape else str, _lookup=lookup, _getattr=env_getattr, _field=field,
                     _getitem=env.getitem, _env=env, _evalctx=nodes.EvalContext(env))
    body = f"''.join(({', '.join(parts)},))" if parts else "''"
    exec(compile(f"def render(ctx):\n    return {body}\n", "<stage 2>", "exec"), namespace)
    fn: Callable[[Mapping[str, Any]], str] = namespace["render"]
    return fn
