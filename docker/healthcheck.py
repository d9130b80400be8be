#!/usr/bin/env python3
"""Container health probe: exit 0 if an HTTP GET of the service's health URL answers 2xx.

Usage: echoarb-healthcheck [URL]   (default: $ECHOARB_HEALTH_URL, else the metrics port 9100).
Standard library only, so it runs in any EchoArb image without a shell, curl or wget.
"""

import os
import sys
import urllib.error
import urllib.request

url = (
    sys.argv[1]
    if len(sys.argv) > 1
    else os.environ.get("ECHOARB_HEALTH_URL", "http://127.0.0.1:9100/metrics")
)
try:
    with urllib.request.urlopen(url, timeout=4) as response:
        sys.exit(0 if 200 <= response.status < 300 else 1)
except (OSError, urllib.error.URLError) as exc:
    print(f"unhealthy: {url}: {exc}", file=sys.stderr)
    sys.exit(1)
