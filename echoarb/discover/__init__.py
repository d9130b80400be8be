"""Market discovery: list the venues' open markets, match them across venues, propose pairs.

The stage runs before everything else and writes nothing the scanner reads until a person
said yes: ``echoarb discover`` proposes candidates with their evidence, ``--interactive``
merges the accepted ones into ``config/market_pairs.json`` (docs/discovery.md).

Modules: ``model`` (the normalised listing entry), ``kalshi`` / ``polymarket`` / ``manifold``
(sans-I/O listing protocols: requests out, REST bodies in), ``fetch`` (the HTTP I/O that
drives them politely), ``cache`` (the listing on disk, with its age), ``extract`` and
``match`` (features and scores), ``output`` (pairs-file candidates, merge, check) and
``review`` (the terminal accept/reject loop).
"""
