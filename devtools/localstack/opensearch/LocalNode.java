// A single OpenSearch node started from Maven jars, with its modules as classpath plugins (as OpenSearch's own
// test framework's MockNode does), so no distribution tarball and no Docker engine are needed.
// Usage: java -cp JARS:CLASSES LocalNode HOME DATA HTTP_PORT TRANSPORT_PORT
// Runs until SIGTERM; the JVM shutdown hook closes the node so its data is flushed.
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

public final class LocalNode extends Node {
    private static final Collection<Class<? extends Plugin>> PLUGINS =
            List.of(Netty4Plugin.class, CommonAnalysisPlugin.class);

    private LocalNode(Environment environment) {
        super(environment, PLUGINS, true);
    }

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args[0]);
        Settings settings = Settings.builder()
                .put("path.home", home.toString())
                .put("path.data", args[1])
                .put("path.logs", home.resolve("logs").toString())
                .put("cluster.name", "ccpa-local")
                .put("node.name", "ccpa-local-0")
                .put("network.host", "127.0.0.1")
                .put("http.port", args[2])
                .put("transport.port", args[3])
                .put("discovery.type", "single-node")
                .put("http.type", "netty4")
                .put("transport.type", "netty4")
                .put("action.auto_create_index", "false")
                .put("cluster.routing.allocation.disk.threshold_enabled", "false")
                .build();
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
                settings, java.util.Map.of(), home.resolve("config"), () -> "ccpa-local-0");
        LocalNode node = new LocalNode(environment);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception error) {
                error.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }));
        node.start();
        System.out.println("LocalNode started");
        stopped.await();
    }
}
