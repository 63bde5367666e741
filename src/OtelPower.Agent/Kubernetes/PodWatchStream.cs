using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using k8s;
using k8s.Models;

namespace OtelPower.Agent.Kubernetes;

/// <summary>
/// <c>GET /api/v1/pods?watch=true</c>, read one JSON event per line. KubernetesClient.Aot (the trimming- and
/// AOT-safe client) lists but has no watch, so this sends the request the full client would, through the
/// client's own <see cref="HttpClient"/> (its TLS and CA settings) and credentials, and decodes each event with
/// the client's source-generated JSON.
/// </summary>
internal static class PodWatchStream
{
    /// <summary>
    /// The events of one watch, as (type, pod). An <c>ERROR</c> event is passed to <paramref name="onError"/> as a
    /// <see cref="KubernetesException"/> carrying its Status; a line that is not an event is passed as the
    /// <see cref="JsonException"/> that rejected it; reading goes on after both. A refused watch (410 Gone for an
    /// expired resourceVersion, 403, 5xx) throws <see cref="HttpRequestException"/> with the status code.
    /// </summary>
    public static async IAsyncEnumerable<(string Type, V1Pod Pod)> WatchAsync(
        k8s.Kubernetes client,
        string fieldSelector,
        string resourceVersion,
        int timeoutSeconds,
        Action<Exception> onError,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(onError);
        using var request = new HttpRequestMessage(HttpMethod.Get, RequestUri(client.BaseUri, fieldSelector, resourceVersion, timeoutSeconds));
        if (client.Credentials is { } credentials)
        {
            await credentials.ProcessHttpRequestAsync(request, cancellationToken).ConfigureAwait(false);
        }

        using HttpResponseMessage response = await client.HttpClient
            .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException(
                string.Create(CultureInfo.InvariantCulture, $"The pod watch was refused: {(int)response.StatusCode} {response.ReasonPhrase}."),
                null,
                response.StatusCode);
        }

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
            using var document = JsonDocument.Parse(line);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("type", out JsonElement type) || type.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("object", out JsonElement item) || item.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("A watch line without a type and an object.");
            }

            string typeName = type.GetString()!;
            if (string.Equals(typeName, "ERROR", StringComparison.Ordinal))
            {
                onError(new KubernetesException(KubernetesJson.Deserialize<V1Status>(item)));
                return null;
            }

            return (typeName, KubernetesJson.Deserialize<V1Pod>(item));
        }
    }

    private static Uri RequestUri(Uri baseUri, string fieldSelector, string resourceVersion, int timeoutSeconds)
    {
        string root = baseUri.AbsoluteUri.EndsWith('/') ? baseUri.AbsoluteUri : baseUri.AbsoluteUri + "/";
        return new Uri(string.Create(
            CultureInfo.InvariantCulture,
            $"{root}api/v1/pods?allowWatchBookmarks=true&fieldSelector={Uri.EscapeDataString(fieldSelector)}&resourceVersion={Uri.EscapeDataString(resourceVersion)}&timeoutSeconds={timeoutSeconds}&watch=true"));
    }
}
