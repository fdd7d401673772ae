//! Every record of the client protocol, grouped by what it is for.

mod data;
mod header;
mod multi;
mod requests;
mod responses;
mod session;
mod watches;

pub use data::{Acl, Id, Stat};
pub use header::{ErrorResponse, MultiHeader, ReplyHeader, RequestHeader, WatcherEvent};
pub use multi::{MultiOp, MultiRequest, MultiResponse, MultiResult};
pub use requests::{
    CheckVersionRequest, CreateRequest, CreateTtlRequest, DeleteRequest, ExistsRequest,
    GetAclRequest, GetAllChildrenNumberRequest, GetChildrenRequest, GetDataRequest,
    GetEphemeralsRequest, PathRequest, ReconfigRequest, SetAclRequest, SetDataRequest, SyncRequest,
};
pub use responses::{
    ClientInfo, Create2Response, CreateResponse, ExistsResponse, GetAclResponse,
    GetAllChildrenNumberResponse, GetChildren2Response, GetChildrenResponse, GetDataResponse,
    GetEphemeralsResponse, SetAclResponse, SetDataResponse, SyncResponse, WhoAmIResponse,
};
pub use session::{AuthPacket, ConnectRequest, ConnectResponse, SaslToken};
pub use watches::{
    AddWatchRequest, CheckWatchesRequest, RemoveWatchesRequest, SetWatches, SetWatches2,
};
