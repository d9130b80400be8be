"""``echoarb discover``: list the venues, propose market pairs, review them, check the configured ones.

The stage's pieces live in ``echoarb.discover``; this module only wires them to arguments,
settings, the cache in DATA_DIR and the terminal (docs/discovery.md).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from echoarb.discover.cache import VenueSection
    from echoarb.discover.match import Candidate
    from echoarb.discover.protocol import Listing
    from echoarb.settings import Settings

VENUES = ("kalshi", "polymarket", "manifold")

DESCRIPTION = """\
List the open markets of Kalshi, Polymarket and Manifold (cached in DATA_DIR/discover),
score candidate pairs across venues (question similarity, numbers, dates, names, direction,
close and resolution times, outcome structure, resolution sources) and print them with their
reasons for and against. Inverted wording sets invert; negRisk-augmented events are refused.
"""

EPILOG = """\
examples:
  echoarb discover                                  list (or reuse the cache), print the best candidates
  echoarb discover --min-score 0.8 --out pairs.suggested.json
  echoarb discover --interactive                    accept/reject each, merge into the pairs file
  echoarb discover --check                          re-validate the configured pairs
  echoarb discover --refresh --venues kalshi,polymarket

Nothing reaches the pairs file without a yes in --interactive: --out writes a separate file
(with FILE.evidence.json beside it: every reason for and against, and both rules texts).
Base URLs: KALSHI_API_URL, POLYMARKET_GAMMA_URL, MANIFOLD_API_URL; request budgets:
KALSHI_REQUESTS_PER_MIN, POLYMARKET_REQUESTS_PER_MIN, MANIFOLD_REQUESTS_PER_MIN.
"""


def _venues(text: str) -> list[str]:
    names = [v.strip().lower() for v in text.split(",") if v.strip()]
    unknown = [v for v in names if v not in VENUES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"venues are a comma-separated subset of {','.join(VENUES)}")
    return names


def _score(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a score between 0 and 1") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("a score between 0 and 1")
    return value


def add_discover_commands(sub: Any) -> None:
    p = sub.add_parser(
        "discover",
        help="find the same market on several venues and propose pairs (with the evidence)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--venues", type=_venues, default=list(VENUES), help="comma-separated (default: all three)"
    )
    p.add_argument(
        "--min-score",
        type=_score,
        default=0.75,
        metavar="S",
        help="propose candidates scoring at least S (default 0.75)",
    )
    p.add_argument(
        "--out", metavar="FILE", help="write the candidates as a pairs file (+ FILE.evidence.json)"
    )
    p.add_argument(
        "--interactive",
        action="store_true",
        help="review each candidate; merge accepted ones into the pairs file",
    )
    p.add_argument("--check", action="store_true", help="re-validate the configured pairs against the venues")
    p.add_argument("--pairs", metavar="FILE", help="pairs file to check or merge into (default: PAIRS_FILE)")
    cache = p.add_mutually_exclusive_group()
    cache.add_argument(
        "--refresh", action="store_true", help="fetch every venue now, whatever the cache's age"
    )
    cache.add_argument("--offline", action="store_true", help="use the cache only, however old")
    p.add_argument(
        "--limit", type=int, default=20, metavar="N", help="candidates printed (default 20; --out writes all)"
    )
    p.add_argument(
        "--max-pages", type=int, default=200, metavar="N", help="page budget per venue endpoint (default 200)"
    )
    p.add_argument("--term", default="", help="Manifold search term (default: every open market)")
    p.add_argument("--all-configured", action="store_true", help="also show pairs already in the pairs file")
    p.set_defaults(func=cmd_discover)


def cmd_discover(args: argparse.Namespace) -> int:
    from echoarb.cli.common import settings_from_args

    settings = settings_from_args(args)
    if args.check:
        return _check(args, settings)
    sections = _listing(args, settings)
    return _propose(args, settings, sections)


def _listing(args: argparse.Namespace, settings: Settings) -> dict[str, VenueSection]:
    from echoarb.cli.common import CliError
    from echoarb.discover import cache
    from echoarb.discover.fetch import Progress, fetch_all

    path = cache.cache_path(settings.data_dir)
    try:
        sections = cache.load(path)
    except cache.CacheError as exc:
        print(f"echoarb: {exc}: fetching afresh", file=sys.stderr)
        sections = {}
    now_ms = int(time.time() * 1000)
    sources = {v: _source(v, args, settings) for v in args.venues}
    stale = [
        v
        for v in args.venues
        if args.refresh
        or v not in sections
        or (
            not args.offline
            and (
                sections[v].age_s(now_ms) > settings.discover_cache_max_age_s
                or sections[v].base_url not in ("", sources[v].base_url)
            )
        )
    ]
    if args.offline:
        missing = [v for v in args.venues if v not in sections]
        if missing:
            raise CliError(f"--offline: no cached listing for {', '.join(missing)} in {path}")
        stale = []
    if stale:
        results = asyncio.run(
            fetch_all(
                [sources[v] for v in stale],
                retries=settings.discover_retries,
                timeout_s=settings.discover_timeout_s,
                progress=Progress(sys.stderr),
                backoff_base=settings.reconnect_backoff_base_s,
            )
        )
        for result in results:
            if result.failure is None:
                sections[result.venue] = cache.VenueSection(
                    result.venue,
                    now_ms,
                    tuple(result.entries),
                    len(result.errors),
                    result.truncated,
                    sources[result.venue].base_url,
                )
                for reason in result.errors[:5]:
                    print(f"  not understood: {reason}", file=sys.stderr)
                if len(result.errors) > 5:
                    print(f"  ... and {len(result.errors) - 5} more", file=sys.stderr)
            elif result.venue in sections and sections[result.venue].base_url not in (
                "",
                sources[result.venue].base_url,
            ):
                print(f"echoarb: {result.failure}", file=sys.stderr)
                del sections[result.venue]  # listed from another base URL: not this venue's
            elif result.venue in sections:
                age = cache.describe_age(sections[result.venue].age_s(now_ms))
                print(f"echoarb: {result.failure}: using the cached listing ({age} old)", file=sys.stderr)
            else:
                print(f"echoarb: {result.failure}", file=sys.stderr)
        if any(r.failure is None for r in results):
            cache.save(path, sections)
    usable = {v: sections[v] for v in args.venues if v in sections}
    if len(usable) < 2:
        raise CliError(
            f"need listings of at least two venues to match; have {', '.join(usable) or 'none'} "
            f"(unreachable venues are named above)"
        )
    for venue, section in usable.items():
        note = ", page budget reached" if section.truncated else ""
        print(
            f"listing {venue}: {len(section.entries):,} open markets, fetched "
            f"{cache.describe_age(section.age_s(now_ms))} ago{note}",
            file=sys.stderr,
        )
    return usable


def _source(venue: str, args: argparse.Namespace, settings: Settings) -> Any:
    from echoarb.discover.fetch import Source
    from echoarb.discover.kalshi import KalshiListing
    from echoarb.discover.manifold import ManifoldListing
    from echoarb.discover.polymarket import PolymarketListing

    listing: Listing
    if venue == "kalshi":
        listing = KalshiListing(max_pages=args.max_pages)
        return Source(listing, settings.kalshi_api_url, settings.kalshi_requests_per_min)
    if venue == "polymarket":
        listing = PolymarketListing(max_pages=args.max_pages)
        return Source(listing, settings.polymarket_gamma_url, settings.polymarket_requests_per_min)
    listing = ManifoldListing(max_pages=args.max_pages, term=args.term)
    return Source(listing, settings.manifold_api_url, settings.manifold_requests_per_min)


def _pairs_path(args: argparse.Namespace, settings: Settings) -> Path:
    return Path(args.pairs).resolve() if args.pairs else settings.pairs_file


def _propose(args: argparse.Namespace, settings: Settings, sections: dict[str, VenueSection]) -> int:
    from echoarb.cli.common import CliError
    from echoarb.discover import output, review
    from echoarb.discover.match import candidates
    from echoarb.pairs import PairsConfigError

    entries = [e for s in sections.values() for e in s.entries]
    started = time.monotonic()
    print(f"matching {len(entries):,} markets across venues ...", file=sys.stderr)
    found = candidates(entries, min_score=args.min_score)
    pairs_path = _pairs_path(args, settings)
    try:
        configured = output.configured_instruments(output.read_pairs_file(pairs_path))
    except PairsConfigError as exc:
        raise CliError(str(exc)) from None
    already = [c for c in found if _configured(c, configured)]
    if not args.all_configured:
        found = [c for c in found if not _configured(c, configured)]
    refused = sum(1 for c in found if c.refused)
    print(
        f"{len(found)} candidates at score >= {args.min_score:.2f} ({refused} refused, "
        f"{len(already)} already configured) from {len(entries):,} markets "
        f"in {time.monotonic() - started:.1f}s",
        file=sys.stderr,
    )
    if args.out:
        written, sidecar = output.write_suggestions(Path(args.out), found)
        print(f"wrote {written} pairs to {args.out} (evidence: {sidecar})")
    if args.interactive:
        accepted = review.review(found, sys.stdin, sys.stdout)
        if not accepted:
            print("nothing accepted: the pairs file is unchanged")
            return 0
        try:
            result = output.merge(pairs_path, accepted)
        except PairsConfigError as exc:
            raise CliError(str(exc)) from None
        added = {c for c in result.added}
        output.record_accepted(
            settings.data_dir / "discover" / "accepted.json",
            [c for c in accepted if output.pair_id(c) in added],
        )
        if result.backup:
            print(f"backup of the previous file: {result.backup}")
        for line in result.refused:
            print(f"not merged: {line}")
        print(f"merged {len(result.added)} pairs into {pairs_path}")
        return 0
    if not args.out:
        _print_table(found[: args.limit])
        if len(found) > args.limit:
            print(f"... {len(found) - args.limit} more (--limit, or --out FILE for all)")
    return 0


def _configured(cand: Candidate, configured: dict[str, str]) -> bool:
    from echoarb.discover.output import instruments_of

    return any(i in configured for i in instruments_of(cand.a)) and any(
        i in configured for i in instruments_of(cand.b)
    )


def _print_table(found: list[Candidate]) -> None:
    for cand in found:
        flag = "REFUSED" if cand.refused else ("invert" if cand.invert else "")
        left, right = f"{cand.a.venue}:{_ident(cand.a)}", f"{cand.b.venue}:{_ident(cand.b)}"
        print(f"{cand.score:.2f} {flag:<7} {left}  <->  {right}")
        print(f"     {cand.a.question}")
        print(f"     {cand.b.question}")
        if cand.refused:
            print(f"     refused: {cand.refused}")
        for reason in cand.against[:3]:
            print(f"     - {reason}")


def _ident(entry: Any) -> str:
    return str(entry.id if entry.venue == "kalshi" else entry.slug or entry.id)


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from echoarb.cli.common import CliError
    from echoarb.discover.check import check, lookups
    from echoarb.discover.fetch import Progress, Source, fetch_all
    from echoarb.pairs import PairsConfigError, load_pairs

    path = _pairs_path(args, settings)
    try:
        config = load_pairs(path)
    except PairsConfigError as exc:
        raise CliError(f"invalid market pairs config: {exc}") from None
    wanted = lookups(config)
    bases = {
        "kalshi": (settings.kalshi_api_url, settings.kalshi_requests_per_min),
        "polymarket": (settings.polymarket_gamma_url, settings.polymarket_requests_per_min),
        "manifold": (settings.manifold_api_url, settings.manifold_requests_per_min),
    }
    sources = [Source(listing, *bases[venue]) for venue, listing in wanted.items() if venue in args.venues]
    results = asyncio.run(
        fetch_all(
            sources,
            retries=settings.discover_retries,
            timeout_s=settings.discover_timeout_s,
            progress=Progress(sys.stderr),
            backoff_base=settings.reconnect_backoff_base_s,
        )
    )
    unreachable = {r.venue for r in results if r.failure is not None}
    unchecked = {v for v in wanted if v not in args.venues}
    found = {venue: listing.by_instrument for venue, listing in wanted.items()}
    problems = check(
        config,
        found,
        unreachable=unreachable | unchecked,
        baseline_path=settings.data_dir / "discover" / "accepted.json",
    )
    for result in results:
        if result.failure:
            print(f"echoarb: {result.failure}", file=sys.stderr)
    refs = sum(1 for pair in config.pairs for _ in pair.refs())
    for problem in problems:
        print(problem.line())
    bad_pairs = {p.pair for p in problems}
    print(f"checked {len(config.pairs)} pairs ({refs} venue legs): {len(bad_pairs)} with problems")
    if unreachable and len(unreachable) == len(wanted):
        raise CliError("no venue answered: nothing was checked")
    return 1 if problems else 0
