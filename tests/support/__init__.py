"""Real parts for tests: Redis servers, server processes, Socket.IO clients."""
