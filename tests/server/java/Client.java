// A default java.net.http.HttpClient (HTTP/2 preferred: on http:// it offers an h2c upgrade), as Spring's
// RestClient (JDK request factory) and LangChain4j's JDK client use it. Usage: java Client.java URL BODY
// Prints the protocol version and status on the first line, then the body as it arrives.
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

public class Client {
    public static void main(String[] args) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create(args[0]))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(args[1]))
                .build();
        HttpResponse<java.util.stream.Stream<String>> response =
                client.send(request, HttpResponse.BodyHandlers.ofLines());
        System.out.println(response.version() + " " + response.statusCode());
        response.body().forEach(System.out::println);
    }
}
