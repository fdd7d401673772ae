import java.io.File;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.server.DataTree;
import org.apache.zookeeper.server.persistence.FileSnap;

/**
 * Writes an Apache ZooKeeper snapshot of N znodes with Apache's own DataTree and FileSnap:
 * /bench/d<k>/n<i>, a thousand per directory, 100 bytes of data each; every tenth node under a
 * digest ACL, every hundredth an ephemeral of one of 100 live sessions.
 * Usage: GenerateSnapshot DATA_DIR N
 */
public class GenerateSnapshot {
    public static void main(String[] args) throws Exception {
        File dataDir = new File(args[0]);
        int count = Integer.parseInt(args[1]);
        DataTree tree = new DataTree();
        long zxid = 1L << 32;
        long time = System.currentTimeMillis();
        List<ACL> open = ZooDefs.Ids.OPEN_ACL_UNSAFE;
        List<ACL> digest = List.of(new ACL(ZooDefs.Perms.ALL, new Id("digest", "bench:hash")));
        byte[] data = new byte[100];
        tree.createNode("/bench", data, open, 0, -1, ++zxid, time);
        for (int i = 0; i < count; i++) {
            String dir = "/bench/d" + (i / 1000);
            if (i % 1000 == 0) {
                tree.createNode(dir, data, open, 0, -1, ++zxid, time);
            }
            long owner = i % 100 == 0 ? 1000 + (i / 100) % 100 : 0;
            tree.createNode(dir + "/n" + i, data, i % 10 == 0 ? digest : open, owner, -1, ++zxid, time);
        }
        Map<Long, Integer> sessions = new HashMap<>();
        for (long session = 1000; session < 1100; session++) {
            sessions.put(session, 30000);
        }
        File snapDir = new File(dataDir, "version-2");
        snapDir.mkdirs();
        File snapshot = new File(snapDir, "snapshot." + Long.toHexString(zxid));
        new FileSnap(snapDir).serialize(tree, sessions, snapshot, true);
        System.out.println(snapshot + ": " + (tree.getNodeCount()) + " znodes");
    }
}
