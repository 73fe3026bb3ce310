"""llmops: the command line and the edges (git, cluster, HTTP) around the pure `compiler`
package."""

__version__ = "0.1.0"
