using Quartet.Backup;
using Quartet.Stack;
using Quartet.Stack.Backups;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
// `docker compose stop` sends SIGTERM to the scheduled service.
using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    cancel.Cancel();
});

ComposeBackups backups;
try
{
    // Reads QUARTET_BACKUP_ENCRYPTION, which stops with one line when it is neither on nor off.
    backups = new ComposeBackups(Say);
    return args switch
    {
        ["run"] => await RunAsync(),
        ["backup"] => await BackupAsync(),
        ["list"] => await ListAsync(verify: false),
        ["list", "--verify"] => await ListAsync(verify: true),
        ["restore", .. var rest] => await RestoreAsync(rest),
        ["restore-redis"] => await RestoreRedisAsync(),
        ["drill"] => await DrillAsync(),
        _ => throw new StackException($"usage: quartet-backup run|backup|list [--verify]|restore [--to TIME | BACKUP] [--force]|restore-redis|drill (not '{string.Join(' ', args)}')"),
    };
}
catch (StackException e)
{
    Console.Error.WriteLine($"quartet-backup: error: {e.Message}");
    return 1;
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    Say("stopped");
    return args is ["run"] ? 0 : 130;
}

async Task<int> RunAsync()
{
    // QUARTET_BACKUP_INTERVAL and QUARTET_DRILL_INTERVAL as the native supervisor reads them; both off keep
    // the service idle, for backups and drills asked for by hand.
    var schedule = BackupSchedule.FromEnvironment();
    if (schedule.IsOff)
    {
        Say("QUARTET_BACKUP_INTERVAL and QUARTET_DRILL_INTERVAL are off: nothing scheduled; ./quartet backup and drill still run");
        await Task.Delay(Timeout.Infinite, cancel.Token);
        return 0;
    }
    await backups.RunAsync(schedule, cancel.Token);
    return 0;
}

async Task<int> DrillAsync()
{
    await backups.DrillAsync(cancel.Token);
    return 0;
}

async Task<int> BackupAsync()
{
    await backups.TakeAsync(cancel.Token);
    return 0;
}

async Task<int> ListAsync(bool verify) => await backups.Sets.PrintAsync(verify, cancel.Token);

async Task<int> RestoreAsync(string[] rest)
{
    var set = await backups.RestoreAsync(RestoreRequest.Parse(rest), cancel.Token);
    Say($"PostgreSQL restored from backup {set.Manifest.Id}");
    return 0;
}

async Task<int> RestoreRedisAsync()
{
    await backups.RestoreRedisAsync(cancel.Token);
    return 0;
}

static void Say(string message) => Console.WriteLine($"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ} quartet-backup: {message}");
