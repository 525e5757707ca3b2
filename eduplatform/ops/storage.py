"""Static files for production: hashed names (cached for ever by browsers and proxies) and
pre-compressed copies (.gz and .br) written once by ``collectstatic``, served by WhiteNoise or nginx.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ProductionStaticStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's compressed manifest storage without the source-map references.

    Vendor bundles from npm (Tabler) name a ``.map`` file they do not ship; Django's hashing would
    refuse the whole collectstatic for it. A source map is only fetched by a browser's developer
    tools, so the comment is left as it is and nothing else is rewritten differently: ``url()`` and
    ``@import`` references are still hashed, and a missing one still fails the build.
    """

    patterns = (
        ("*.css", (
            r"""(?P<matched>url\(['"]{0,1}\s*(?P<url>.*?)["']{0,1}\))""",
            (r"""(?P<matched>@import\s*["']\s*(?P<url>.*?)["'])""", """@import url("%(url)s")"""),
        )),
    )
