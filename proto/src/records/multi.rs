//! multi (op 14) and multiRead (op 22): a list of operations, each preceded by a [`MultiHeader`] and
//! ended by [`MultiHeader::DONE`]; the response lists one result per operation in the same framing.

use crate::codes::OpCode;
use crate::jute::{DecodeError, Reader, Record, Writer};
use crate::records::{
    CheckVersionRequest, Create2Response, CreateRequest, CreateResponse, CreateTtlRequest,
    DeleteRequest, ErrorResponse, ExistsResponse, GetChildrenRequest, GetChildrenResponse,
    GetDataRequest, GetDataResponse, MultiHeader, SetDataRequest,
};

/// One operation of a multi or multiRead request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    /// create (1), create2 (15) or createContainer (19): `op` says which.
    Create {
        /// The op code.
        op: OpCode,
        /// The body.
        req: CreateRequest,
    },
    /// createTTL (21).
    CreateTtl(CreateTtlRequest),
    /// delete (2).
    Delete(DeleteRequest),
    /// setData (5).
    SetData(SetDataRequest),
    /// check (13).
    Check(CheckVersionRequest),
    /// getChildren (8), in a multiRead.
    GetChildren(GetChildrenRequest),
    /// getData (4), in a multiRead.
    GetData(GetDataRequest),
}

impl MultiOp {
    /// The op code written in the operation's header.
    pub fn op_code(&self) -> OpCode {
        match self {
            MultiOp::Create { op, .. } => *op,
            MultiOp::CreateTtl(_) => OpCode::CreateTtl,
            MultiOp::Delete(_) => OpCode::Delete,
            MultiOp::SetData(_) => OpCode::SetData,
            MultiOp::Check(_) => OpCode::Check,
            MultiOp::GetChildren(_) => OpCode::GetChildren,
            MultiOp::GetData(_) => OpCode::GetData,
        }
    }

    /// The path the operation acts on.
    pub fn path(&self) -> &str {
        match self {
            MultiOp::Create { req, .. } => &req.path,
            MultiOp::CreateTtl(r) => &r.path,
            MultiOp::Delete(r) | MultiOp::Check(r) => &r.path,
            MultiOp::SetData(r) => &r.path,
            MultiOp::GetChildren(r) | MultiOp::GetData(r) => &r.path,
        }
    }

    fn write_body(&self, w: &mut Writer) {
        match self {
            MultiOp::Create { req, .. } => req.write(w),
            MultiOp::CreateTtl(r) => r.write(w),
            MultiOp::Delete(r) | MultiOp::Check(r) => r.write(w),
            MultiOp::SetData(r) => r.write(w),
            MultiOp::GetChildren(r) | MultiOp::GetData(r) => r.write(w),
        }
    }

    fn read_body(op_type: i32, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let op = OpCode::from_i32(op_type).ok_or(DecodeError::InvalidValue {
            field: "multi op type",
            value: op_type.into(),
        })?;
        Ok(match op {
            OpCode::Create | OpCode::Create2 | OpCode::CreateContainer => MultiOp::Create {
                op,
                req: CreateRequest::read(r)?,
            },
            OpCode::CreateTtl => MultiOp::CreateTtl(CreateTtlRequest::read(r)?),
            OpCode::Delete => MultiOp::Delete(DeleteRequest::read(r)?),
            OpCode::SetData => MultiOp::SetData(SetDataRequest::read(r)?),
            OpCode::Check => MultiOp::Check(CheckVersionRequest::read(r)?),
            OpCode::GetChildren => MultiOp::GetChildren(GetChildrenRequest::read(r)?),
            OpCode::GetData => MultiOp::GetData(GetDataRequest::read(r)?),
            _ => {
                return Err(DecodeError::InvalidValue {
                    field: "multi op type",
                    value: op_type.into(),
                });
            }
        })
    }
}

/// The body of multi (op 14) and multiRead (op 22).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiRequest {
    /// The operations, in order.
    pub ops: Vec<MultiOp>,
}

impl Record for MultiRequest {
    fn write(&self, w: &mut Writer) {
        for op in &self.ops {
            MultiHeader {
                op_type: op.op_code().code(),
                done: false,
                err: -1,
            }
            .write(w);
            op.write_body(w);
        }
        MultiHeader::DONE.write(w);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut ops = Vec::new();
        loop {
            let h = MultiHeader::read(r)?;
            if h.done {
                return Ok(MultiRequest { ops });
            }
            ops.push(MultiOp::read_body(h.op_type, r)?);
        }
    }
}

/// One result of a multi or multiRead response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiResult {
    /// create (header type 1).
    Create(CreateResponse),
    /// create2, createContainer, createTTL (header type 15).
    Create2(Create2Response),
    /// delete (header type 2).
    Delete,
    /// setData (header type 5).
    SetData(ExistsResponse),
    /// check (header type 13).
    Check,
    /// getChildren (header type 8).
    GetChildren(GetChildrenResponse),
    /// getData (header type 4).
    GetData(GetDataResponse),
    /// A failed or rolled-back operation (header type -1) with its error code.
    Error(i32),
}

impl MultiResult {
    fn header(&self) -> MultiHeader {
        let (op, err) = match self {
            MultiResult::Create(_) => (OpCode::Create, 0),
            MultiResult::Create2(_) => (OpCode::Create2, 0),
            MultiResult::Delete => (OpCode::Delete, 0),
            MultiResult::SetData(_) => (OpCode::SetData, 0),
            MultiResult::Check => (OpCode::Check, 0),
            MultiResult::GetChildren(_) => (OpCode::GetChildren, 0),
            MultiResult::GetData(_) => (OpCode::GetData, 0),
            MultiResult::Error(err) => (OpCode::Error, *err),
        };
        MultiHeader {
            op_type: op.code(),
            done: false,
            err,
        }
    }

    fn write_body(&self, w: &mut Writer) {
        match self {
            MultiResult::Create(b) => b.write(w),
            MultiResult::Create2(b) => b.write(w),
            MultiResult::SetData(b) => b.write(w),
            MultiResult::GetChildren(b) => b.write(w),
            MultiResult::GetData(b) => b.write(w),
            MultiResult::Error(err) => ErrorResponse { err: *err }.write(w),
            MultiResult::Delete | MultiResult::Check => {}
        }
    }

    fn read_body(op_type: i32, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let invalid = DecodeError::InvalidValue {
            field: "multi result type",
            value: op_type.into(),
        };
        Ok(match OpCode::from_i32(op_type).ok_or(invalid.clone())? {
            OpCode::Create => MultiResult::Create(CreateResponse::read(r)?),
            OpCode::Create2 => MultiResult::Create2(Create2Response::read(r)?),
            OpCode::Delete => MultiResult::Delete,
            OpCode::SetData => MultiResult::SetData(ExistsResponse::read(r)?),
            OpCode::Check => MultiResult::Check,
            OpCode::GetChildren => MultiResult::GetChildren(GetChildrenResponse::read(r)?),
            OpCode::GetData => MultiResult::GetData(GetDataResponse::read(r)?),
            OpCode::Error => MultiResult::Error(ErrorResponse::read(r)?.err),
            _ => return Err(invalid),
        })
    }
}

/// The body of a multi or multiRead reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiResponse {
    /// One result per operation, in order.
    pub results: Vec<MultiResult>,
}

impl Record for MultiResponse {
    fn write(&self, w: &mut Writer) {
        for res in &self.results {
            res.header().write(w);
            res.write_body(w);
        }
        MultiHeader::DONE.write(w);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut results = Vec::new();
        loop {
            let h = MultiHeader::read(r)?;
            if h.done {
                return Ok(MultiResponse { results });
            }
            results.push(MultiResult::read_body(h.op_type, r)?);
        }
    }
}
