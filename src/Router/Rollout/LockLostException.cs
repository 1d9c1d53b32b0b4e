namespace Router.Rollout;

/// <summary>A fenced write was refused: someone else may hold the rollout lock now.</summary>
internal sealed class LockLostException(string message) : Exception(message);
