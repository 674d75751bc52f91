"""Emergency video: who may look into whose home, TURN credentials, signaling, the audit."""
