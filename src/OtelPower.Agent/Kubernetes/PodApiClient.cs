using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using OtelPower.Agent.Kubernetes.Api;

namespace OtelPower.Agent.Kubernetes;

/// <summary>
/// <c>GET /api/v1/pods</c>, as a list and as a watch (one JSON event per line), decoded with the source-generated
/// <see cref="KubernetesJsonContext"/> into the few pod fields the agent reads.
/// </summary>
internal sealed class PodApiClient(KubernetesApiConnection connection)
{
    /// <summary>
    /// The pods matching <paramref name="fieldSelector"/> in all namespaces. A refusal (403, 5xx) throws
    /// <see cref="HttpRequestException"/> with the status code; a body that is not a pod list throws <see cref="JsonException"/>.
    /// </summary>
    public async Task<V1PodList> ListAsync(string fieldSelector, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await connection.GetAsync(
            "api/v1/pods?fieldSelector=" + Uri.EscapeDataString(fieldSelector), cancellationToken).ConfigureAwait(false);
        await ThrowIfRefusedAsync(response, "list", cancellationToken).ConfigureAwait(false);
        Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            return await JsonSerializer.DeserializeAsync(body, KubernetesJsonContext.Default.V1PodList, cancellationToken).ConfigureAwait(false)
                ?? throw new JsonException("The pod list was null.");
        }
    }

    /// <summary>
    /// The events of one watch from <paramref name="resourceVersion"/>, bookmarks included, as (type, pod). An
    /// <c>ERROR</c> event is passed to <paramref name="onError"/> as a <see cref="KubernetesStatusException"/>; a line
    /// that is not an event (malformed, or cut off when the stream ended mid-line) as the <see cref="JsonException"/>
    /// that rejected it; reading goes on after both. A refused watch (410 Gone for an expired resourceVersion, 403,
    /// 5xx) throws <see cref="HttpRequestException"/> with the status code.
    /// </summary>
    public async IAsyncEnumerable<(string Type, V1Pod Pod)> WatchAsync(
        string fieldSelector,
        string resourceVersion,
        int timeoutSeconds,
        Action<Exception> onError,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onError);
        string query = string.Create(
            CultureInfo.InvariantCulture,
            $"api/v1/pods?allowWatchBookmarks=true&fieldSelector={Uri.EscapeDataString(fieldSelector)}&resourceVersion={Uri.EscapeDataString(resourceVersion)}&timeoutSeconds={timeoutSeconds}&watch=true");
        using HttpResponseMessage response = await connection.GetAsync(query, cancellationToken).ConfigureAwait(false);
        await ThrowIfRefusedAsync(response, "watch", cancellationToken).ConfigureAwait(false);

        Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(body);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            (string Type, V1Pod Pod)? decoded;
            try
            {
                decoded = Decode(line);
            }
            catch (JsonException e)
            {
                onError(e);
                continue;
            }

            if (decoded is { } watchEvent)
            {
                yield return watchEvent;
            }
        }

        (string Type, V1Pod Pod)? Decode(string line)
        {
            WatchEvent? watchEvent = JsonSerializer.Deserialize(line, KubernetesJsonContext.Default.WatchEvent);
            if (watchEvent?.Type is not { Length: > 0 } type || watchEvent.Object.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("A watch line without a type and an object.");
            }

            if (string.Equals(type, "ERROR", StringComparison.Ordinal))
            {
                onError(new KubernetesStatusException(watchEvent.Object.Deserialize(KubernetesJsonContext.Default.V1Status)));
                return null;
            }

            V1Pod pod = watchEvent.Object.Deserialize(KubernetesJsonContext.Default.V1Pod) ?? throw new JsonException("A watch event without a pod.");
            return (type, pod);
        }
    }

    // The API server explains a refusal in a Status body ("pods is forbidden: User ... cannot watch ..."): keep it.
    private static async Task ThrowIfRefusedAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string? reason = null;
        try
        {
            string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            reason = JsonSerializer.Deserialize(body, KubernetesJsonContext.Default.V1Status)?.Message;
        }
        catch (Exception e) when (e is JsonException or IOException or HttpRequestException)
        {
            // No Status body: the status line says enough.
        }

        throw new HttpRequestException(
            string.Create(CultureInfo.InvariantCulture, $"The pod {what} was refused: {(int)response.StatusCode} {response.ReasonPhrase}{(reason is null ? "" : ": " + reason)}."),
            null,
            response.StatusCode);
    }
}
