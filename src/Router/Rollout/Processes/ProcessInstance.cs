namespace Router.Rollout.Processes;

/// <summary>What the process scheduler keeps of one instance (<c>instances/NAME@N.json</c>), so that another run
/// of the tool (--resume, --undo) finds the processes a killed one started. Written before
/// the processes start (null pids: starting), so no start goes unrecorded.</summary>
internal sealed record ProcessInstance(int Number, string Version, int Port, LocalProcess? Service, LocalProcess? Presence);
