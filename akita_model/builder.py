"""Summarise witnesses by operation, in a form that merges.

``build_summary`` reads witnesses once and keeps, per operation (a method on
a path template), what ``OperationState`` learns, plus the path trie and the
security schemes seen. ``merge_summaries`` combines two summaries into the
summary of both: ``to_openapi`` gives the same document for a trace and for
the merge of any split of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, Final

from akita_model.auth import SchemeState, find_auth
from akita_model.operation import OperationState
from akita_model.paths import PathTrie, Tokens, route_tokens, split_path
from akita_model.scalars import ScalarState
from akita_model.witness import Witness

MAX_SERVICES: Final = 16
_MAX_ROUTE_CACHE: Final = 4096

OperationKey = tuple[str, Tokens]


class Summary:
    """Everything learnt from a set of witnesses, by operation."""

    def __init__(self, service: str | None = None) -> None:
        self.service = service
        self.witnesses = 0
        self.skipped: Counter[str] = Counter()
        self.services: Counter[str] = Counter()
        self.trie = PathTrie()
        self.routed: dict[OperationKey, OperationState] = {}
        self.heuristic: dict[OperationKey, OperationState] = {}
        self.schemes: dict[str, SchemeState] = {}
        self._route_cache: dict[str, Tokens | None] = {}
        # The state of each routed operation by method and route: a key of
        # two strings, whose hashes Python keeps, where the operation's
        # key holds tokens whose hash is worked out at each lookup.
        self._route_states: dict[tuple[str, str], OperationState] = {}
        self._header_keys: dict[str, str] = {}
        self._header_kinds: dict[str, str] = {}

    def _route(self, route: str) -> Tokens | None:
        cache = self._route_cache
        if route in cache:
            return cache[route]
        tokens = route_tokens(route)
        if len(cache) < _MAX_ROUTE_CACHE:
            cache[route] = tokens
        return tokens

    def add(self, witness: Witness) -> None:
        """Learn one witness."""
        self.witnesses += 1
        if witness.service is not None:
            self.services[witness.service] += 1
            if len(self.services) > MAX_SERVICES:
                self._trim_services()

        auth = find_auth(witness, self._header_kinds)
        for credential in auth.credentials:
            scheme = self.schemes.get(credential.scheme)
            if scheme is None:
                scheme = self.schemes[credential.scheme] = SchemeState(
                    credential.scheme
                )
            scheme.add(credential)

        route = witness.route
        path_values: list[tuple[int, str]] = []
        if route is not None:
            known = self._route_states.get((witness.method, route))
            if known is not None:
                known.add(witness, auth, path_values, self._header_keys)
                return
        tokens = self._route(route) if route is not None else None
        if tokens is not None:
            operations = self.routed
        else:
            segments = split_path(witness.path)
            heuristic_tokens, has_changed = self.trie.template(segments)
            if has_changed:
                self._normalise()
            if heuristic_tokens is None:
                # Past MAX_ROOTS first segments (a scanner's junk): counted,
                # not modelled.
                return
            tokens = heuristic_tokens
            operations = self.heuristic
            path_values = [
                (index, segments[index])
                for index, token in enumerate(tokens)
                if token is None
            ]

        key = (witness.method, tokens)
        state = operations.get(key)
        if state is None:
            state = operations[key] = OperationState()
        if (
            route is not None
            and operations is self.routed
            and len(self._route_states) < _MAX_ROUTE_CACHE
        ):
            self._route_states[(witness.method, route)] = state
        state.add(witness, auth, path_values, self._header_keys)

    def _trim_services(self) -> None:
        for name in sorted(self.services)[MAX_SERVICES:]:
            del self.services[name]

    def _normalise(self) -> None:
        # A position collapsed or a first segment was pushed out: re-key the
        # heuristic operations whose templates have a literal there, merge
        # those that now meet and drop those no longer modelled.
        operations = self.heuristic
        self.heuristic = {}
        for (method, tokens), state in operations.items():
            self._absorb_heuristic(method, tokens, state, is_copy=False)

    def _absorb_heuristic(
        self, method: str, tokens: Tokens, state: OperationState, is_copy: bool
    ) -> None:
        if not self.trie.is_tracked(tokens):
            return
        canonical = self.trie.canonical(tokens)  # type: ignore[arg-type]
        key = (method, canonical)
        target = self.heuristic.get(key)
        if target is None and not is_copy and canonical == tokens:
            self.heuristic[key] = state
            return
        if target is None:
            target = self.heuristic[key] = OperationState()
        _merge_into(target, tokens, canonical, state)

    def final_heuristic(self) -> dict[OperationKey, OperationState]:
        """Return the heuristic operations as the model has them.

        Path positions collapse as ``PathTrie.finalised`` decides. States
        that meet are merged into new ones: this summary stays unchanged.
        """
        trie = self.trie.finalised()
        groups: dict[OperationKey, list[tuple[Tokens, OperationState]]] = {}
        for (method, tokens), state in self.heuristic.items():
            canonical = trie.canonical(tokens)  # type: ignore[arg-type]
            groups.setdefault((method, canonical), []).append((tokens, state))
        operations: dict[OperationKey, OperationState] = {}
        for key, members in groups.items():
            if len(members) == 1 and members[0][0] == key[1]:
                operations[key] = members[0][1]
                continue
            target = operations[key] = OperationState()
            for tokens, state in members:
                _merge_into(target, tokens, key[1], state)
        return operations

    def absorb(self, other: Summary) -> None:
        """Learn everything ``other`` learnt, leaving ``other`` unchanged."""
        self.witnesses += other.witnesses
        self.skipped.update(other.skipped)
        self.services.update(other.services)
        if len(self.services) > MAX_SERVICES:
            self._trim_services()
        if self.service is None:
            self.service = other.service
        for name, scheme in other.schemes.items():
            mine = self.schemes.get(name)
            if mine is None:
                mine = self.schemes[name] = SchemeState(name)
            mine.merge(scheme)
        for key, state in other.routed.items():
            target = self.routed.get(key)
            if target is None:
                target = self.routed[key] = OperationState()
            target.merge(state)

        self.trie.merge(other.trie)
        operations = self.heuristic
        self.heuristic = {}
        for (method, tokens), state in operations.items():
            self._absorb_heuristic(method, tokens, state, is_copy=False)
        for (method, tokens), state in other.heuristic.items():
            self._absorb_heuristic(method, tokens, state, is_copy=True)

    def service_name(self) -> str | None:
        """Return the service named, or else the one most witnesses came from."""
        if self.service is not None:
            return self.service
        if not self.services:
            return None
        return min(self.services.items(), key=lambda item: (-item[1], item[0]))[0]


def _merge_into(
    target: OperationState, tokens: Tokens, canonical: Tokens, state: OperationState
) -> None:
    # Merge the state of a template into the state of its canonical form;
    # each literal that became a parameter is a value of that parameter.
    target.merge(state)
    for index, (old, new) in enumerate(zip(tokens, canonical, strict=True)):
        if isinstance(old, str) and new is None:
            values = ScalarState()
            values.add(old)
            target.add_path_values(index, values)


def build_summary(witnesses: Iterable[Witness], service: str | None = None) -> Summary:
    """Summarise witnesses by operation.

    When ``witnesses`` is a ``TraceReader``, its skip counts are kept too.
    """
    summary = Summary(service)
    add = summary.add
    for witness in witnesses:
        add(witness)
    skipped: Any = getattr(witnesses, "skipped", None)
    if skipped:
        summary.skipped.update(skipped)
    return summary


def merge_summaries(first: Summary, second: Summary) -> Summary:
    """Return the summary of the witnesses of both, leaving both unchanged."""
    merged = Summary(first.service if first.service is not None else second.service)
    merged.absorb(first)
    merged.absorb(second)
    return merged
