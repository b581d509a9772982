"""The MCP surface: every MCP expose served through the official SDK's low-level Server.

``schemas`` turns catalog operations into tool definitions (input schemas, annotations);
``server`` builds one SDK ``Server`` per expose namespace whose handlers read the live
catalog and call ``runtime.invoke`` in a worker thread; ``gateway`` serves every
namespace over streamable HTTP at ``/mcp/<namespace>``; ``stdio`` serves one over
standard input and output.

Only this package imports the MCP SDK.
"""
