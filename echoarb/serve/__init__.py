"""``echoarb serve``: the HTTP face of the scanner (WebSocket feed, REST API, board, docs)."""
